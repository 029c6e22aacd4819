pytest_plugins = ['tests.fixtures.synthetic_data', 'tests.fixtures.threads']
