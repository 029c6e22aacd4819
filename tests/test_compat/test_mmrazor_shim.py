"""`import mmkd_plugin` makes mmrazor 1.0.0's models importable on torch 2.x."""
import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True)


def test_mmrazor_models_import_fails_without_the_shim():
    result = _run('import mmrazor.models')
    if result.returncode == 0:
        pytest.skip('this torch/mmrazor pair imports without the shim')
    assert 'torch>=1.13' in result.stderr or 'Error' in result.stderr


def test_mmrazor_models_import_after_mmkd_plugin():
    result = _run('import mmkd_plugin, mmrazor.models\n'
                  'from mmrazor.registry import MODELS\n'
                  'for name in ("SingleTeacherDistill", "ConfigurableDistiller", "TeacherDistill",'
                  ' "ChannelWiseDivergence"):\n'
                  '    assert MODELS.get(name) is not None, name\n'
                  'print("ok")')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('ok')
