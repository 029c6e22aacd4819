"""Unpickle checkpoints with torch's ``weights_only`` unpickler and a narrow, frozen allow-list.

torch >= 2.6 refuses to build anything a checkpoint names unless it is allow-listed, so a checkpoint
cannot run code. MMEngine 0.10.7 Runner checkpoints carry a few non-tensor objects: the message hub's
``HistoryBuffer`` (which pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``), the
numpy arrays, dtypes and scalars inside it, and ``_codecs.encode`` (how protocol-2 pickles store
bytes). :func:`safe_torch_load` loads such files with exactly these allowed, each narrowed:

- ``builtins.getattr`` resolves only ``HistoryBuffer``'s four default statistics, from a table frozen
  at import (a checkpoint cannot add names: ``HistoryBuffer.__setstate__`` writes into a class-level
  registry, which is restored after every load, so a file cannot rebind ``mean`` for the process);
- ``numpy.core.multiarray`` (numpy 1.x files) and ``numpy._core.multiarray`` (numpy 2.x) ``_reconstruct``
  and ``scalar`` build only plain ndarrays and scalars of numeric or boolean dtypes (no object, void,
  string or datetime data; an array's size comes from the bytes in the file);
- ``numpy.dtype`` builds only those dtypes; ``numpy.ndarray`` is a name ``_reconstruct`` accepts, not a
  class a pickle can call; the real ndarray and dtype classes are allowed only as targets of ``BUILD``;
- ``_codecs.encode`` encodes only with ``latin1``.

The allow-list is active only inside :func:`safe_torch_load` (``torch.serialization.safe_globals``), not
for the rest of the process. ``weights_only=False`` and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` are never
used: ``compat/checkpoint_loaders.py`` routes every MMEngine load path through this function.
"""
import codecs
import pickle
from typing import Any, Callable, Dict

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')
_STATISTICS: Dict[str, Callable] = {name: getattr(HistoryBuffer, name) for name in DEFAULT_STATISTICS}
# Kinds of numpy data a checkpoint may hold: bool, signed/unsigned integers, floats, complex.
NUMERIC_KINDS = frozenset('biufc')
# Globals a GLOBAL opcode cannot name (it reads one line), so they serve BUILD's type check only.
_BUILD_ONLY = 'mmkd_plugin\nbuild only '


def statistics_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` for ``HistoryBuffer``'s default statistics methods only.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    if obj is HistoryBuffer and name in _STATISTICS:
        return _STATISTICS[name]
    raise pickle.UnpicklingError(
        f'Refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only HistoryBuffer statistics '
        f'methods {list(DEFAULT_STATISTICS)} may be resolved.')


class NdarrayName:
    """What the name ``numpy.ndarray`` resolves to in a checkpoint: accepted by ``_reconstruct`` only."""

    def __init__(self, *args, **kwargs) -> None:
        raise pickle.UnpicklingError('Refusing to construct numpy.ndarray directly while loading a '
                                     'checkpoint (numpy pickles arrays through _reconstruct).')


def _check_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise pickle.UnpicklingError(f'Refusing numpy dtype {dtype!r} in a checkpoint: only plain '
                                     'boolean and numeric data may be loaded.')
    return dtype


def numeric_dtype(*args) -> np.dtype:
    """``numpy.dtype(*args)`` for plain boolean and numeric dtypes only."""
    return _check_dtype(np.dtype(*args))


def _multiarray():
    return np._core.multiarray if hasattr(np, '_core') else np.core.multiarray


def ndarray_reconstruct(subtype, shape, dtype) -> np.ndarray:
    """numpy's ``_reconstruct`` for the empty plain ndarray it starts every unpickled array from."""
    if subtype is not NdarrayName or tuple(shape) != (0,):
        raise pickle.UnpicklingError(f'Refusing _reconstruct({subtype!r}, {shape!r}) in a checkpoint: '
                                     'only plain numpy arrays may be loaded.')
    return _multiarray()._reconstruct(np.ndarray, (0,), dtype)


def numeric_scalar(dtype: np.dtype, *args) -> Any:
    """numpy's ``scalar`` (a scalar from its raw bytes) for numeric dtypes only."""
    return _multiarray().scalar(_check_dtype(dtype), *args)


def latin1_encode(text: str, encoding: str = 'utf-8') -> bytes:
    """``codecs.encode`` as protocol-2 pickles of bytes use it: ``latin1`` only."""
    if codecs.lookup(encoding).name != 'iso8859-1':
        raise pickle.UnpicklingError(f'Refusing _codecs.encode(..., {encoding!r}) in a checkpoint.')
    return codecs.encode(text, 'latin1')


def _numeric_dtype_classes() -> list:
    classes = []
    for name in dir(np.dtypes):
        cls = getattr(np.dtypes, name)
        if name.endswith('DType') and isinstance(cls, type):
            try:
                kind = cls().kind
            except TypeError:  # abstract or parametric dtypes (datetime units, strings, ...)
                continue
            if kind in NUMERIC_KINDS:
                classes.append(cls)
    return classes


def allowed_globals() -> list:
    """The ``safe_globals`` entries :func:`safe_torch_load` uses."""
    allowed = [
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (statistics_getattr, 'builtins.getattr'),
        (latin1_encode, '_codecs.encode'),
        (NdarrayName, 'numpy.ndarray'),
        (numeric_dtype, 'numpy.dtype'),
        (np.ndarray, _BUILD_ONLY + 'ndarray'),
    ]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed += [(ndarray_reconstruct, f'{module}._reconstruct'), (numeric_scalar, f'{module}.scalar')]
    allowed += [(cls, _BUILD_ONLY + cls.__name__) for cls in _numeric_dtype_classes()]
    return allowed


_ALLOWED = allowed_globals()
# What torch's RuntimeError says about a file that ends early or is no zip archive.
_BROKEN_FILE = ('failed reading zip archive', 'PytorchStreamReader', 'unexpected EOF')


def safe_torch_load(f, map_location=None, source: str = '', mmap: bool = False) -> Any:
    """``torch.load(f, map_location, weights_only=True)`` with the MMEngine allow-list of this module.

    Args:
        f: a path or a file-like object.
        map_location: as in ``torch.load``.
        source: what to name in an error (default: ``f``).
        mmap: memory-map the tensors instead of reading them (a path only).

    Raises:
        pickle.UnpicklingError: the file needs a global outside the allow-list (it would run code or
            build an object a checkpoint should not hold); the message names the file.
        RuntimeError: the file ends early or is no checkpoint at all (a broken zip archive, an empty or
            cut pickle); the message names the file (and ``source``) and says to download or export it again.
    """
    HistoryBuffer()  # registers the default statistics before the snapshot
    registry = dict(HistoryBuffer._statistics_methods)
    try:
        with torch.serialization.safe_globals(_ALLOWED):
            return torch.load(f, map_location=map_location, weights_only=True, mmap=mmap)
    except (RuntimeError, EOFError, KeyError) as e:
        if isinstance(e, RuntimeError) and not any(part in str(e) for part in _BROKEN_FILE):
            raise
        found = (str(e).split('. ')[0].strip() if isinstance(e, RuntimeError)
                 else 'it ends early' if isinstance(e, EOFError) else 'no pickle in it')
        where = f'{source} (the file {f})' if source and isinstance(f, str) and f != source else source or f
        raise RuntimeError(f'{where}: truncated or not a checkpoint ({found}): re-download or '
                           're-export it.') from e
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'{source or f}: refused by the weights_only unpickler (mmkd_plugin keeps it on for every '
            f'checkpoint): {_reason(e)} Checkpoints written by torch.save of tensors, dicts, numbers and '
            'MMEngine message hubs load; this file holds something else. If you made it yourself, save '
            'its state_dict (plain tensors) instead.') from e
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(registry)


def _reason(error: Exception) -> str:
    """The specific part of torch's message, without its advice to turn ``weights_only`` off."""
    parts = [p.strip() for p in str(error).split('\n\n') if p.strip()]
    specific = [p for p in parts if not p.startswith(('Weights only load failed', 'Check the documentation'))]
    return ' '.join(specific or parts[-1:])
