"""Every MMEngine load path unpickles with weights_only and a narrow, frozen allow-list."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mmkd_plugin  # noqa: F401
from mmkd_plugin.compat.safe_checkpoint import safe_torch_load


class RunsCode:
    """Unpickling it runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def _hostile_file(path, marker):
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': RunsCode(marker)}, path)
    return str(path)


def _runner_checkpoint():
    hub = MessageHub(name='safe_checkpoint_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i))
    hub.update_info('iter', 7)
    buf = HistoryBuffer()
    buf.update(1.5)
    return dict(state_dict=collections.OrderedDict(w=torch.ones(2)), message_hub=hub.state_dict(),
                meta=dict(seed=np.int64(3), arr=np.arange(4, dtype=np.float32), scalar=np.float64(0.25),
                          flag=np.bool_(True), buffer=buf))


def _check_runner_checkpoint(loaded):
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['meta']['buffer'].current() == 1.5 and loaded['meta']['buffer'].mean() == 1.5
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(4, dtype=np.float32))
    assert loaded['meta']['seed'] == 3 and loaded['meta']['scalar'] == 0.25 and loaded['meta']['flag']
    hub = MessageHub(name='safe_checkpoint_loaded')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').current() == 2.0


def test_mmengine_checkpoint_loads_through_every_local_path(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_runner_checkpoint(), path)
    _check_runner_checkpoint(CheckpointLoader.load_checkpoint(str(path)))
    _check_runner_checkpoint(_load_checkpoint(str(path), map_location='cpu'))


def test_numpy1_checkpoint_loads(tmp_path):
    """A file written under numpy 1.x names numpy.core.multiarray (rewritten here byte for byte)."""
    path, old = tmp_path / 'ckpt.pth', tmp_path / 'numpy1.pth'
    torch.save(_runner_checkpoint(), path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, 'w') as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith('data.pkl'):
                assert b'numpy._core.multiarray' in data
                data = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
            dst.writestr(item, data)
    _check_runner_checkpoint(CheckpointLoader.load_checkpoint(str(old)))


def test_code_running_pickle_is_refused_and_named(tmp_path):
    marker = tmp_path / 'ran'
    path = _hostile_file(tmp_path / 'evil.pth', marker)
    with pytest.raises(pickle.UnpicklingError, match=r'evil\.pth: refused by the weights_only unpickler'):
        CheckpointLoader.load_checkpoint(path)
    assert not marker.exists()


def test_url_checkpoints_load_safely(tmp_path, monkeypatch):
    """A download, or a file already in the hub cache under the URL's name, is unpickled safely."""
    marker = tmp_path / 'ran'
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    downloads = []

    def fake_download(url, dst, *args, **kwargs):
        downloads.append(url)
        _hostile_file(dst, marker)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    monkeypatch.setattr(mm_ckpt, 'get_torchvision_models', lambda: {'resnet50': 'https://x.org/tv/r50.pth'})
    monkeypatch.setattr(mm_ckpt, 'get_external_models', lambda: {'resnet50_v1c': 'https://x.org/mm/r50_v1c.pth'})
    monkeypatch.setattr(mm_ckpt, 'get_mmcls_models', lambda: {'mobilenet_v2': 'https://x.org/cls/mbv2.pth'})
    for url in ('https://x.org/teacher.pth', 'http://x.org/t2.pth', 'torchvision://resnet50',
                'modelzoo://resnet50', 'open-mmlab://resnet50_v1c', 'openmmlab://resnet50_v1c',
                'mmcls://mobilenet_v2'):
        with pytest.raises(pickle.UnpicklingError, match='refused by the weights_only unpickler'):
            _load_checkpoint(url, map_location='cpu')
    assert len(downloads) == 5  # a cached file is not downloaded twice (torchvision = modelzoo, ...)
    assert not marker.exists()
    # The hub-cache trick of the issue: a file planted under a teacher URL's name, nothing downloaded.
    planted = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'planted.pth'
    _hostile_file(planted, marker)
    downloads.clear()
    with pytest.raises(pickle.UnpicklingError, match='planted.pth'):
        _load_checkpoint('https://download.openmmlab.com/x/planted.pth')
    assert not downloads and not marker.exists()


def test_url_checkpoint_that_is_clean_loads(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, *a, **k: torch.save(_runner_checkpoint(), dst))
    _check_runner_checkpoint(_load_checkpoint('https://x.org/clean.pth'))


class _Pickler(pickle.Pickler):
    """Writes ``GETATTR`` objects as ``getattr(HistoryBuffer, name)``, as HistoryBuffer's methods are."""

    def reducer_override(self, obj):
        if isinstance(obj, GETATTR):
            return getattr, (HistoryBuffer, obj.name)
        return NotImplemented


class GETATTR:
    def __init__(self, name):
        self.name = name


class _PickleModule:
    Pickler = _Pickler


def _save_with_registry(path, registry, extra=None):
    """A checkpoint whose HistoryBuffer carries ``registry`` as its statistics methods."""
    saved = dict(HistoryBuffer._statistics_methods)
    HistoryBuffer._statistics_methods.clear()
    HistoryBuffer._statistics_methods.update(registry)
    try:
        buf = HistoryBuffer()
        buf.update(2.0)
        torch.save({'buffer': buf, 'extra': extra}, path, pickle_module=_PickleModule)
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved)


def test_a_checkpoint_cannot_rebind_or_widen_the_statistics(tmp_path):
    HistoryBuffer()
    before = dict(HistoryBuffer._statistics_methods)
    rebound = tmp_path / 'rebound.pth'
    _save_with_registry(rebound, {'min': HistoryBuffer.min, 'max': HistoryBuffer.max,
                                  'current': HistoryBuffer.current, 'mean': HistoryBuffer.min,
                                  'extra': HistoryBuffer.max})
    safe_torch_load(str(rebound))
    assert HistoryBuffer._statistics_methods == before  # 'mean' is still mean, 'extra' is gone
    # A buffer that registers the name '__init__', then a getattr of that name in the same file.
    widened = tmp_path / 'widened.pth'
    _save_with_registry(widened, dict(before, __init__=HistoryBuffer.min), extra=GETATTR('__init__'))
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing getattr\(.*'__init__'\)"):
        safe_torch_load(str(widened))
    assert HistoryBuffer._statistics_methods == before


@pytest.mark.parametrize('value', [
    np.array(['a', 'b']),                          # unicode strings
    np.array([object()], dtype=object),            # objects
    np.array(['2020-01-01'], dtype='datetime64[D]'),
    np.zeros(2, dtype=[('a', 'f4'), ('b', 'i4')]),  # structured (void)
    np.str_('text'),
])
def test_non_numeric_numpy_data_is_refused(tmp_path, value):
    path = tmp_path / 'odd.pth'
    torch.save({'meta': value}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused'):
        CheckpointLoader.load_checkpoint(str(path))


def test_ndarray_cannot_be_constructed_directly():
    # protocol 2: numpy.ndarray((10**12,)) by GLOBAL + REDUCE, which would allocate at will
    raw = b'\x80\x02cnumpy\nndarray\nJ\x00\x00\x00\x40\x85\x85R.'
    with pytest.raises(pickle.UnpicklingError, match='numpy.ndarray directly'):
        safe_torch_load(io.BytesIO(_zip_pickle(raw)))


def _zip_pickle(raw: bytes) -> bytes:
    """``raw`` as the data.pkl of a torch.save zip archive."""
    buf = io.BytesIO()
    torch.save({}, buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, 'w') as dst:
        for item in src.infolist():
            dst.writestr(item, raw if item.filename.endswith('data.pkl') else src.read(item.filename))
    return out.getvalue()


@pytest.mark.parametrize('module,name,attribute', [
    ('mmengine.logging.history_buffer', 'HistoryBuffer', '__init__'),
    ('collections', 'OrderedDict', '__reduce__'),
    ('torch', 'Tensor', 'register_hook'),
])
def test_getattr_outside_history_buffer_statistics_is_refused(module, name, attribute):
    attr = attribute.encode()
    raw = (b'\x80\x02cbuiltins\ngetattr\n' + f'c{module}\n{name}\n'.encode()
           + b'X' + len(attr).to_bytes(4, 'little') + attr + b'\x86R.')
    with pytest.raises(pickle.UnpicklingError):
        safe_torch_load(io.BytesIO(_zip_pickle(raw)))


def test_the_allow_list_is_not_process_wide(tmp_path):
    """Outside mmkd_plugin's loaders, torch's own default (refuse the message hub) is untouched."""
    path = tmp_path / 'ckpt.pth'
    torch.save(_runner_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_every_scheme_calls_torch_load_with_weights_only(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, *a, **k: torch.save(_runner_checkpoint(), dst))
    monkeypatch.setattr(mm_ckpt, 'get_torchvision_models', lambda: {'resnet50': 'https://x.org/a.pth'})
    monkeypatch.setattr(mm_ckpt, 'get_external_models', lambda: {'r50': 'https://x.org/b.pth'})
    monkeypatch.setattr(mm_ckpt, 'get_mmcls_models', lambda: {'m': 'https://x.org/c.pth'})
    local = tmp_path / 'local.pth'
    torch.save(_runner_checkpoint(), local)
    calls, real_load = [], torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get('weights_only'))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', spy)
    sources = [str(local), 'https://x.org/d.pth', 'torchvision://resnet50', 'open-mmlab://r50', 'mmcls://m']
    for source in sources:
        CheckpointLoader.load_checkpoint(source)
    assert calls == [True] * len(sources)


def test_torchvision_scheme_without_torchvision_names_the_fix():
    """The stock configs' backbones start from torchvision:// weights; here torchvision does not import."""
    import importlib.util
    if importlib.util.find_spec('torchvision') is not None:
        pytest.skip('torchvision is installed: the scheme would download')
    from mmengine.runner.checkpoint import CheckpointLoader
    with pytest.raises(ImportError, match=r'torchvision://resnet50: .*torchvision 0.28.*init_cfg=None'):
        CheckpointLoader.load_checkpoint('torchvision://resnet50', map_location='cpu')
