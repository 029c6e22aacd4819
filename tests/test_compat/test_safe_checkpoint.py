"""Checkpoints load with torch's weights_only unpickler, and code-running pickles are refused."""
import collections
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmkd_plugin  # noqa: F401


def _message_hub_state():
    hub = MessageHub(name='safe_checkpoint_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i))
    hub.update_info('iter', 7)
    return hub.state_dict()


def test_weights_only_is_still_the_default(tmp_path):
    path = tmp_path / 'evil.pth'

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned',))

    torch.save({'x': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_mmengine_checkpoint_objects_load(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    checkpoint = dict(
        state_dict=collections.OrderedDict(w=torch.ones(2)),
        message_hub=_message_hub_state(),
        meta=dict(seed=np.int64(3), arr=np.arange(4, dtype=np.float32),
                  scalar=np.float64(0.25), buffer=buf))
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path)  # weights_only=True by default on torch >= 2.6
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['meta']['buffer'].current() == 1.5
    assert loaded['meta']['buffer'].mean() == 1.5
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(4, dtype=np.float32))
    hub = MessageHub(name='safe_checkpoint_loaded')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').current() == 2.0


def _weights_only_load(raw: bytes):
    """Unpickle ``raw`` with the unpickler ``torch.load(weights_only=True)`` uses."""
    from torch import _weights_only_unpickler
    return _weights_only_unpickler.Unpickler(io.BytesIO(raw), encoding='ASCII').load()


def _getattr_pickle(module: str, name: str, attribute: str) -> bytes:
    """Protocol-2 pickle of ``getattr(<module.name>, attribute)``."""
    attr = attribute.encode()
    return (b'\x80\x02cbuiltins\ngetattr\n' + f'c{module}\n{name}\n'.encode()
            + b'X' + len(attr).to_bytes(4, 'little') + attr + b'\x86R.')


def test_history_buffer_statistics_resolve():
    method = _weights_only_load(_getattr_pickle('mmengine.logging.history_buffer', 'HistoryBuffer', 'mean'))
    assert method is HistoryBuffer.mean


@pytest.mark.parametrize('module,name,attribute', [
    ('mmengine.logging.history_buffer', 'HistoryBuffer', '__init__'),
    ('collections', 'OrderedDict', '__reduce__'),
    ('torch', 'Tensor', 'register_hook'),
])
def test_getattr_outside_history_buffer_statistics_is_refused(module, name, attribute):
    with pytest.raises(pickle.UnpicklingError, match='Refusing getattr'):
        _weights_only_load(_getattr_pickle(module, name, attribute))
