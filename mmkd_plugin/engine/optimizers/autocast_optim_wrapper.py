"""Mixed precision on any device: autocast in the forward, no loss scaling.

MMEngine's ``AmpOptimWrapper`` asserts a GPU/NPU/MLU. bfloat16 has fp32's exponent range, so it needs
no loss scaling and runs under ``torch.autocast`` on CPU as well; ``tools/train.py --amp`` uses this
wrapper with bfloat16 when no GPU is present (and MMEngine's ``AmpOptimWrapper`` with fp16 on GPUs).
"""
import contextlib

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the forward under ``torch.autocast``.

    Args:
        dtype: the autocast dtype, ``'bfloat16'`` (default) or ``'float16'`` (GPU only; prefer
            ``AmpOptimWrapper`` there, which also scales the loss).
        device_type: ``'cpu'``, ``'cuda'``...; default: the device of the model's first parameter.
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module):
        device_type = self.device_type or next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type, dtype=self.cast_dtype):
            yield
