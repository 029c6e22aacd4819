"""The student's own optimizer recipe inside a distillation algorithm.

Constructors that read a model's structure expect the detector or segmentor itself: mmseg's/mmdet's
``LearningRateDecayOptimizerConstructor`` and ``LayerDecayOptimizerConstructor`` look up
``model.backbone`` and derive layer ids from names starting with ``backbone.``; ``paramwise_cfg``'s
``custom_keys`` match name substrings. Run on a distillation algorithm (``architecture.backbone...``,
``teacher.backbone...``) they fail, or silently put every student parameter in the last layer and walk
the frozen teacher too. This constructor runs the student config's constructor on the student alone,
then adds the distiller's own trainable parameters as groups of their own; the teacher gets none.
"""
import copy
from typing import Dict, Optional

from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ...models.utils.student import (DISTILLER_PREFIX, STUDENT_PREFIX, TEACHER_PREFIX, is_distillation, student_of,
                                     unwrap)

DISTILLER_PARAMWISE_KEYS = ('lr_mult', 'decay_mult', 'custom_keys')


def distiller_parameters(algorithm: nn.Module) -> Dict[str, nn.Parameter]:
    """Trainable parameters of ``algorithm`` outside the student (``architecture``) and the teacher:
    connectors, ACAM-KD's fusion and selection units, learned loss parameters."""
    return {name: p for name, p in algorithm.named_parameters()
            if p.requires_grad and not name.startswith((STUDENT_PREFIX, TEACHER_PREFIX))}


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DistillOptimWrapperConstructor:
    """Build the optimizer of a distillation algorithm with the student config's constructor.

    ``DistillRunner`` uses it for every distillation algorithm (a student ``architecture``): the
    config's ``constructor`` (default ``DefaultOptimWrapperConstructor``) becomes
    ``student_constructor`` and its ``paramwise_cfg`` applies to the student exactly as in a run of the
    student alone (same groups, same order, same ``lr``/``weight_decay``). The distiller's trainable
    parameters follow in one group with ``lr = optimizer.lr * lr_mult`` and
    ``weight_decay = optimizer.weight_decay * decay_mult``; ``custom_keys`` (as in MMEngine's
    ``paramwise_cfg``: the longest key that is a substring of the parameter's name in the algorithm, e.g.
    ``distiller.distill_losses.loss_acam.masks.0.weight``, wins) give other multipliers to some of them,
    in groups of their own. In the config::

        optim_wrapper = dict(distiller_paramwise_cfg=dict(
            decay_mult=1.0, custom_keys={'.masks.': dict(decay_mult=0.0)}))

    Args:
        optim_wrapper_cfg: the ``optim_wrapper`` config (``type``, ``optimizer``, ``clip_grad``...), with
            ``student_constructor`` (a registered constructor name) and ``distiller_paramwise_cfg``
            (``lr_mult``, ``decay_mult``: both default 1; ``custom_keys``).
        paramwise_cfg: the student's ``paramwise_cfg``, given to ``student_constructor``.

    Raises:
        TypeError: the model has no student (``architecture``): use the student's constructor.
        KeyError: ``distiller_paramwise_cfg`` has a key other than ``lr_mult``, ``decay_mult``,
            ``custom_keys``.
        ValueError: ``paramwise_cfg.custom_keys`` name the algorithm's parameters (``architecture.``...).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        student_constructor = cfg.pop('student_constructor', 'DefaultOptimWrapperConstructor')
        distiller_cfg = dict(cfg.pop('distiller_paramwise_cfg', None) or {})
        unknown = set(distiller_cfg) - set(DISTILLER_PARAMWISE_KEYS)
        if unknown:
            raise KeyError(f'distiller_paramwise_cfg takes {DISTILLER_PARAMWISE_KEYS}; got {sorted(unknown)}.')
        self.lr_mult = float(distiller_cfg.get('lr_mult', 1.0))
        self.decay_mult = float(distiller_cfg.get('decay_mult', 1.0))
        self.custom_keys = dict(distiller_cfg.get('custom_keys') or {})
        self.student_keys_check(paramwise_cfg)
        self.student_constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(type=student_constructor, optim_wrapper_cfg=cfg, paramwise_cfg=paramwise_cfg))

    @staticmethod
    def student_keys_check(paramwise_cfg: Optional[dict]) -> None:
        """``paramwise_cfg`` applies to the student's own names (``backbone...``): a ``custom_keys`` entry
        written for the algorithm's names would silently match nothing."""
        keys = [k for k in ((paramwise_cfg or {}).get('custom_keys') or {})
                if k.startswith((STUDENT_PREFIX, TEACHER_PREFIX, DISTILLER_PREFIX))]
        if keys:
            raise ValueError(f'paramwise_cfg.custom_keys {keys} name the distillation algorithm\'s parameters, '
                             'but paramwise_cfg applies to the student alone, by its own names (drop '
                             '"architecture."); the distiller\'s parameters take '
                             'optim_wrapper.distiller_paramwise_cfg.custom_keys; the teacher is not optimised.')

    def __call__(self, model: nn.Module) -> OptimWrapper:
        algorithm = unwrap(model)
        student = student_of(algorithm)
        if student is None:
            raise TypeError(f'DistillOptimWrapperConstructor builds the optimizer of a distillation algorithm '
                            f'(a model with a student `architecture`); {type(algorithm).__name__} has none. '
                            'Use the model\'s own constructor (remove `constructor` from optim_wrapper).')
        optim_wrapper = self.student_constructor(student)
        groups = self._distiller_groups(distiller_parameters(algorithm))
        defaults = optim_wrapper.optimizer.defaults  # the optimizer's own lr when the config gives none
        # torch >= 2.6 refuses a group without names beside named ones (mmseg's layer-decay constructor,
        # used by the BEiT/MAE configs, names its groups with `param_names`)
        named = any('param_names' in g for g in optim_wrapper.optimizer.param_groups)
        for (lr_mult, decay_mult), items in groups.items():
            group = dict(params=[p for _, p in items], lr=defaults['lr'] * lr_mult)
            if named:
                group['param_names'] = [n for n, _ in items]
            if 'weight_decay' in defaults:
                group['weight_decay'] = defaults['weight_decay'] * decay_mult
            optim_wrapper.optimizer.add_param_group(group)
        summary = ', '.join(f'{len(ps)} tensors / {sum(p.numel() for _, p in ps)} values (lr x{lr:g}, weight decay '
                            f'x{wd:g})' for (lr, wd), ps in groups.items()) or 'none'
        student_groups = len(optim_wrapper.optimizer.param_groups) - len(groups)
        print_log(f'Optimizer: the student in {student_groups} group(s) by {type(self.student_constructor).__name__} '
                  f'(its config\'s constructor and paramwise_cfg); distiller parameters: {summary}; the teacher: '
                  'none.', logger='current')
        return optim_wrapper

    def _distiller_groups(self, params: Dict[str, nn.Parameter]) -> Dict[tuple, list]:
        """``{(lr_mult, decay_mult): [(name, parameter)]}``, the default multipliers first."""
        keys = sorted(sorted(self.custom_keys), key=len, reverse=True)  # MMEngine's order: longest first
        groups = {(self.lr_mult, self.decay_mult): []}
        for name, param in params.items():
            key = next((k for k in keys if k in name), None)
            custom = self.custom_keys.get(key, {})
            mults = (float(custom.get('lr_mult', self.lr_mult)), float(custom.get('decay_mult', self.decay_mult)))
            groups.setdefault(mults, []).append((name, param))
        return {mults: ps for mults, ps in groups.items() if ps}


def for_distillation(model: nn.Module, optim_wrapper_cfg):
    """``optim_wrapper_cfg`` rewritten to build a distillation algorithm's optimizer with
    :class:`DistillOptimWrapperConstructor` (its constructor moved to ``student_constructor``); returned
    unchanged for a model without a student, for an optimizer wrapper object, for a built optimizer,
    for several optimizers (an ``OptimWrapperDict`` config) and when the constructor is already this one.
    The result is a shallow copy (the values are shared)."""
    if (not isinstance(optim_wrapper_cfg, dict) or not is_distillation(model)
            or not isinstance(optim_wrapper_cfg.get('optimizer'), dict)):
        return optim_wrapper_cfg
    constructor = optim_wrapper_cfg.get('constructor', 'DefaultOptimWrapperConstructor')
    if constructor == 'DistillOptimWrapperConstructor':
        return optim_wrapper_cfg
    cfg = copy.copy(optim_wrapper_cfg)
    cfg['constructor'] = 'DistillOptimWrapperConstructor'
    cfg['student_constructor'] = constructor
    return cfg
