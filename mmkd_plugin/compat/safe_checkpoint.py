"""Keep torch's ``weights_only`` checkpoint loading on, and still load MMEngine checkpoints.

torch >= 2.6 unpickles ``torch.load`` files with ``weights_only=True``: only allow-listed globals
may be built, so a checkpoint cannot run code. MMEngine 0.10.7 calls ``torch.load`` without the
argument, and its Runner checkpoints carry a few non-tensor objects (the message hub's
``HistoryBuffer`` and the numpy arrays and scalars inside it), so ``--resume`` and ``load_from``
fail out of the box. The usual "fix", ``weights_only=False`` or ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``,
re-opens arbitrary code execution from any checkpoint file.

Here exactly the types such checkpoints carry are allow-listed. ``HistoryBuffer`` pickles its
statistics methods as ``getattr(HistoryBuffer, 'min')``; ``builtins.getattr`` is therefore served
by :func:`history_buffer_getattr`, which returns only those methods and refuses everything else,
instead of allow-listing ``getattr`` wholesale (which would let a pickle reach ``os.system``).
"""
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """A ``getattr`` that resolves only ``HistoryBuffer``'s statistics methods.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    # The defaults are registered lazily (by the first HistoryBuffer), custom ones by decorator.
    allowed = DEFAULT_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({obj!r}, {name!r}) while loading a checkpoint: mmkd_plugin only '
        f'allows HistoryBuffer statistics methods ({sorted(allowed)}). If you trust this file, '
        'load it yourself with torch.load(..., weights_only=False).')


def _numpy_globals() -> list:
    """numpy's array/scalar reconstructors and the concrete dtype classes arrays pickle with."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    module = multiarray.__name__
    found = [
        (multiarray._reconstruct, f'{module}._reconstruct'),
        (multiarray.scalar, f'{module}.scalar'),
        np.ndarray,
        np.dtype,
    ]
    found += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]
    return found


def allowed_checkpoint_globals() -> list:
    """Every global an MMEngine Runner checkpoint needs, as ``add_safe_globals`` entries."""
    import codecs
    return [
        HistoryBuffer,
        (history_buffer_getattr, 'builtins.getattr'),
        (codecs.encode, '_codecs.encode'),
        *_numpy_globals(),
    ]


def apply() -> None:
    """Allow-list the types of MMEngine checkpoints for ``weights_only`` loading. Idempotent."""
    torch.serialization.add_safe_globals(allowed_checkpoint_globals())
