"""`import mmkd_plugin` makes mmrazor 1.0.0's models importable on torch 2.x."""
import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True)


def test_mmrazor_models_import_fails_without_the_shim():
    """The shim is needed on the pinned stack (if this starts to pass, the shim can go)."""
    result = _run('import mmrazor.models')
    assert result.returncode != 0
    assert '`torch>=1.13` is not installed properly' in result.stderr, result.stderr[-2000:]


def test_mmrazor_models_import_after_mmkd_plugin():
    result = _run('import mmkd_plugin, mmrazor.models\n'
                  'from mmrazor.registry import MODELS\n'
                  'for name in ("SingleTeacherDistill", "ConfigurableDistiller", "TeacherDistill",'
                  ' "ChannelWiseDivergence"):\n'
                  '    assert MODELS.get(name) is not None, name\n'
                  'print("ok")')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('ok')
