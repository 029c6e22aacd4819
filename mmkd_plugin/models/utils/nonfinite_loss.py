"""Stop (or skip) a training step whose loss is NaN or infinite, naming the term and the iteration.

MMEngine back-propagates whatever ``parse_losses`` returns, so one NaN term (an exploding
distillation loss, a corrupt image) silently turns every weight into NaN. The algorithms call
:func:`check_finite` on the parsed losses before the backward pass: one device synchronisation for the
total, the terms are looked at only when it is not finite.
"""
import logging
from typing import Dict, Iterable

import torch
from mmengine.logging import MessageHub, print_log
from torch import Tensor

POLICIES = ('raise', 'skip')


def check_finite(loss: Tensor, log_vars: Dict[str, Tensor], parameters: Iterable[Tensor],
                 policy: str = 'raise') -> Tensor:
    """``loss`` if finite; else raise ``FloatingPointError`` or (``policy='skip'``) return a zero loss.

    The zero loss still reaches every trainable parameter (so DDP's gradient reduction stays in step)
    with a zero gradient; the optimizer steps as for any zero gradient (momentum and weight decay
    still apply).
    """
    if bool(torch.isfinite(loss.detach()).all()):
        return loss
    bad = {k: float(v.detach().float().mean()) for k, v in log_vars.items()
           if k != 'loss' and 'loss' in k and not bool(torch.isfinite(v.detach()).all())}
    iteration = MessageHub.get_current_instance().get_info('iter')
    where = f'at iteration {iteration + 1}' if iteration is not None else 'in this step'
    message = (f'Non-finite loss {where}: {bad or {"loss": float(loss.detach())}}. Lower the learning rate '
               'or the named term\'s loss_weight, or check the batch (an empty or corrupt image);')
    if policy == 'raise':
        raise FloatingPointError(message + " set model.nonfinite_loss='skip' to skip such steps instead.")
    print_log(message + ' the step is skipped (nonfinite_loss=\'skip\').', logger='current',
              level=logging.WARNING)
    return sum(p.sum() * 0 for p in parameters if p.requires_grad)


class FiniteLossMixin:
    """``parse_losses`` with :func:`check_finite`; set ``self.nonfinite_loss`` ('raise' or 'skip')."""

    nonfinite_loss = 'raise'

    def set_nonfinite_policy(self, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f'nonfinite_loss must be one of {POLICIES}, got {policy!r}.')
        self.nonfinite_loss = policy

    def parse_losses(self, losses: Dict[str, Tensor]):
        loss, log_vars = super().parse_losses(losses)
        return check_finite(loss, log_vars, self.parameters(), self.nonfinite_loss), log_vars
