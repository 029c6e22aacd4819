"""Keep every trainable distiller parameter in the backward graph, for DDP.

MMEngine wraps models in DDP with ``find_unused_parameters=False`` by default; DDP then fails at the
next step ("Expected to have finished reduction in the prior iteration") when a trainable parameter got
no gradient. A distiller's parameters go unused when MMRazor's ``StopDistillHook`` stops the distillation
losses, or when a loss leaves some of its parameters out (ACAM-KD with one mask type). Adding
``0 * (one element of each)`` to a loss gives them a zero gradient at no cost.
"""
from typing import Dict, Iterable

import torch
from torch import Tensor


def touch_parameters(losses: Dict[str, object], parameters: Iterable[Tensor]) -> Dict[str, object]:
    """``losses`` with a zero term that reaches every trainable parameter added to its first loss."""
    params = [p for p in parameters if p.requires_grad]
    key = next((k for k, v in losses.items() if 'loss' in k and (isinstance(v, Tensor) or (
        isinstance(v, (list, tuple)) and v and isinstance(v[0], Tensor)))), None)
    if params and key is not None:
        zero = torch.stack([p.reshape(-1)[0].float() for p in params]).sum() * 0
        value = losses[key]
        if isinstance(value, Tensor):
            losses[key] = value + zero.to(value.dtype)
        else:  # mmdet's per-level lists (RetinaNet's loss_cls)
            losses[key] = [value[0] + zero.to(value[0].dtype), *value[1:]]
    return losses
