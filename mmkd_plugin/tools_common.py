"""Config edits shared by the command-line tools."""
import torch
from mmengine.config import Config


def configure_amp(cfg: Config) -> None:
    """``--amp``: fp16 with dynamic loss scaling on GPU (MMEngine's ``AmpOptimWrapper``), bf16
    autocast on a machine without GPU (``AutocastOptimWrapper``; ``AmpOptimWrapper`` asserts a GPU)."""
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    else:
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.optim_wrapper.pop('loss_scale', None)
