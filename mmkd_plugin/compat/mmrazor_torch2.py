"""Make mmrazor 1.0.0 importable on torch 2.x.

mmrazor 1.0.0 was written for torch 1.13. Importing ``mmrazor.models`` on torch 2.x fails
(open-mmlab/mmrazor#615) because its quantization backend config imports names that torch renamed
or removed. Distillation never touches that code, so the missing names are restored with torch
1.13's semantics (fuser methods) or as no-ops (observer flags). This must run before anything
imports ``mmrazor.models``; ``import mmkd_plugin`` does it first.
"""
import torch.ao.quantization.backend_config.utils  # noqa: F401  torch uses it without importing it
import torch.ao.quantization.fuser_method_mappings as _fuser_methods
from torch.ao.quantization.backend_config import BackendPatternConfig

_REMOVED_PATTERN_CONFIG_SETTERS = ('_set_input_output_observed',
                                   '_set_overwrite_output_fake_quantize',
                                   '_set_overwrite_output_observer')


def _reverse_sequential_wrapper2(sequential):
    """torch 1.13's ``reverse_sequential_wrapper2``: fuse ``(m1, m2)`` as ``sequential(m2, m1)``."""

    def fuser_method(is_qat, m1, m2):
        return sequential(m2, m1)

    return fuser_method


def _return_self(self, *args, **kwargs):
    return self


def apply() -> None:
    """Restore the torch 1.13 names mmrazor 1.0.0 imports. Idempotent."""
    restored = {
        'reverse2': getattr(_fuser_methods, '_reverse2', None),
        'reverse3': getattr(_fuser_methods, '_reverse3', None),
        'reverse_sequential_wrapper2': _reverse_sequential_wrapper2,
    }
    for name, obj in restored.items():
        if not hasattr(_fuser_methods, name) and obj is not None:
            setattr(_fuser_methods, name, obj)
    for name in _REMOVED_PATTERN_CONFIG_SETTERS:
        if not hasattr(BackendPatternConfig, name):
            setattr(BackendPatternConfig, name, _return_self)
