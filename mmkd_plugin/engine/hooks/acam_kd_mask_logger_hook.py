"""Log ACAM-KD's mean mask values per level, so that a collapse of the masks is visible."""
import logging
from typing import Dict, Set

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

STATS = ('mask_c', 'mask_s', 'loss_c', 'loss_s', 'div')


@HOOKS.register_module()
class ACAMKDMaskLoggerHook(Hook):
    """Put every ``ACAMKDLoss``'s last mean masks and loss terms into the training log.

    After each training iteration it reads ``last_stats`` of each ``ACAMKDLoss`` in the model and
    writes ``acam_<level>.mask_c`` / ``.mask_s`` (mean channel / spatial mask) and ``.loss_c`` /
    ``.loss_s`` / ``.div`` (unweighted terms) to the message hub, which the ``LoggerHook`` averages over
    its interval and prints (and sends to TensorBoard/W&B backends). ``<level>`` is the loss's name in
    the distiller without ``loss_`` (``loss_acam_l0`` -> ``acam_l0``). In the joint mode the
    mask-sum normalisation rewards small masks (open choice E1); a mean below ``collapse_threshold``
    is reported once per level as a warning.

    Args:
        collapse_threshold: warn when a mean mask falls below it; 0 disables the warning.
    """

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) reads the message hub

    def __init__(self, collapse_threshold: float = 0.01) -> None:
        self.collapse_threshold = collapse_threshold
        self._warned: Set[str] = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        stats = collect_acam_stats(runner.model)
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/{key}', value)
            if (self.collapse_threshold > 0 and key.endswith(('.mask_c', '.mask_s'))
                    and value < self.collapse_threshold and key not in self._warned):
                self._warned.add(key)
                print_log(f'ACAM-KD: mean mask {key} = {value:.2e} < {self.collapse_threshold}: the '
                          "masks are collapsing; consider mask_learning='online' or a smaller "
                          'loss_weight for the mask parameters (see docs/methods/acam_kd.md, E1).',
                          logger='current', level=logging.WARNING)


def collect_acam_stats(model: torch.nn.Module) -> Dict[str, float]:
    """``{'acam_l0.mask_s': 0.43, ...}`` from every ``ACAMKDLoss`` in ``model`` with stats."""
    from ...models.losses.acam_kd import ACAMKDLoss  # lazy: engine is imported before models

    model = model.module if is_model_wrapper(model) else model
    keys, values = [], []
    for name, module in model.named_modules():
        if isinstance(module, ACAMKDLoss) and module.last_stats:
            level = _level_name(name)
            for stat in STATS:
                if stat in module.last_stats:
                    keys.append(f'{level}.{stat}')
                    values.append(module.last_stats[stat].float())
    if not values:
        return {}
    return dict(zip(keys, torch.stack(values).tolist()))  # one device sync for all values


def _level_name(module_name: str) -> str:
    last = module_name.rsplit('.', 1)[-1]
    return last[len('loss_'):] if last.startswith('loss_') else last
