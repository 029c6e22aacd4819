"""mmkd_plugin: knowledge distillation for dense prediction on OpenMMLab 2.x.

Install the stack first (``make install`` does it all: torch, mmcv with ops built from source, ...);
``pip install -e .`` then adds this package without touching the stack.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope = {}
    with open(osp.join('mmkd_plugin', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


setup(
    name='mmkd_plugin',
    version=read_version(),
    description='Knowledge distillation for dense prediction (mmdet 3 / mmseg 1) on MMRazor 1',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    # mmkd_devtools/ (generated data, offline smoke helpers), tools/ and tests/ stay in the repository.
    packages=find_packages(include=['mmkd_plugin', 'mmkd_plugin.*']),
    # The model configs, inheritable as `mmkd_plugin::...` (mmkd_plugin/.mim/configs links to configs/; the
    # wheel gets copies), as mmdet and mmseg ship theirs. The benchmark suites, ablation rounds, tuning sweeps
    # and the model configs only they run stay in the repository (tools/benchmarks/suites/).
    package_data={'mmkd_plugin': ['.mim/model-index.yml', '.mim/configs/**/*.py', '.mim/configs/**/*.md']},
    python_requires='>=3.8',
    # torch and mmcv are deliberately not listed: pip would pull a CUDA torch and try to build mmcv
    # in an isolated environment, which fails (see docs/install.md).
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
