"""Log ACAM-KD's mean mask values per level, so that a collapse of the masks is visible."""
import logging
from typing import Dict, Optional, Set, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...models.utils.student import unwrap

STATS = ('mask_c', 'mask_s', 'loss_c', 'loss_s', 'div', 'mass')


FIXES = {
    'low': ("the masks are collapsing to 0: the mimic terms vanish with them. Keep them alive with "
            "acam=dict(mass_weight=1.0) or normalize='mask_mean' (docs/methods/acam_kd.md, E1)"),
    'high': ('the masks are saturating at 1: no position or channel is selected any more. Hold them '
             'with acam=dict(mass_weight=1.0, mass_target=0.5) (docs/methods/acam_kd.md, E1)'),
}


@HOOKS.register_module()
class ACAMKDMaskLoggerHook(Hook):
    """Put every ``ACAMKDLoss``'s last mean masks and loss terms into the training log.

    After each training iteration it reads ``last_stats`` of each ``ACAMKDLoss`` in the model and
    writes ``acam_<level>.mask_c`` / ``.mask_s`` (mean channel / spatial mask), ``.loss_c`` / ``.loss_s``
    (unweighted mimic terms), ``.div`` (mean pairwise Dice of the level's spatial masks: 1 = identical
    masks) and ``.mass`` to the message hub, which the ``LoggerHook`` averages over its interval and
    prints (and sends to TensorBoard/W&B backends). ``<level>`` is the loss's name in the distiller
    without ``loss_`` (``loss_acam_l0`` -> ``acam_l0``). A mean mask outside ``bounds`` (collapse
    towards 0, saturation towards 1) is reported once per level and mask type, as a warning that
    names the level and the fix.

    Args:
        bounds: ``(low, high)``; a mean mask below ``low`` or above ``high`` is warned about.
            ``None`` disables the warnings.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) reads the message hub

    def __init__(self, bounds: Optional[Tuple[float, float]] = (0.05, 0.95)) -> None:
        if bounds is not None and not 0 <= bounds[0] < bounds[1] <= 1:
            raise ValueError(f'bounds must be (low, high) with 0 <= low < high <= 1, got {bounds}.')
        self.bounds = bounds
        self._warned: Set[str] = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        stats = collect_acam_stats(runner.model)
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/{key}', value)
            if self.bounds is None or not key.endswith(('.mask_c', '.mask_s')) or key in self._warned:
                continue
            side = 'low' if value < self.bounds[0] else 'high' if value > self.bounds[1] else None
            if side is not None:
                self._warned.add(key)
                kind = 'channel' if key.endswith('_c') else 'spatial'
                level = key.rsplit('.', 1)[0]
                print_log(f'ACAM-KD {level}: mean {kind} mask {value:.3f} at iteration {runner.iter + 1} '
                          f'is outside {tuple(self.bounds)}; {FIXES[side]}.', logger='current',
                          level=logging.WARNING)


def collect_acam_stats(model: torch.nn.Module) -> Dict[str, float]:
    """``{'acam_l0.mask_s': 0.43, ...}`` from every ``ACAMKDLoss`` in ``model`` with stats."""
    from ...models.losses.acam_kd import ACAMKDLoss  # lazy: engine is imported before models

    model = unwrap(model)
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
