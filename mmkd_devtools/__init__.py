"""Development-only code of the repository, not shipped with ``pip install``: the generated datasets
(``tools/generate_data.py``, tests) and the offline smoke helpers (``tools/check_config.py``, the
benchmarks, tests). The tools put the repository root on ``sys.path`` to import it."""
