"""ACAM-KD as an algorithm: one ACAMKDLoss per level from a level count, and the online mask mode.

Lan & Tian, "ACAM-KD: Adaptive and Cooperative Attention Masking for Knowledge Distillation",
ICCV 2025. ``TeacherDistill`` with two additions:

- ``acam=dict(source='neck', num_levels=5, student_channels=256, teacher_channels=256, ...)`` builds
  the ``ConfigurableDistiller`` (recorders, one ``ACAMKDLoss`` per level, the mappings), so a config
  does not spell out five losses and five mappings. A hand-written ``distiller`` still works, alone or
  for extra losses next to ``acam``.
- ``mask_learning='online'`` (open choice E1, MasKD-style): after the distillation losses, the
  teacher's recorded features are masked with each online level's masks and run through the frozen
  teacher's remaining layers and task loss; that loss (``distill.loss_acam_mask_task``) trains the mask
  generator only (the teacher is frozen, the student is not on its path).
"""
import inspect
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import BaseDataElement
from mmrazor.registry import MODELS

from ..distillers.per_level_distiller import LEVEL, expand_levels
from ..losses.acam_kd import ACAMKDLoss
from ..utils.task_loss import detector_loss_from_features
from .teacher_distill import TeacherDistill

# ACAMKDLoss's own default, which per-level weights multiply when the config gives no loss_weight.
_ACAM_DEFAULT_LOSS_WEIGHT = inspect.signature(ACAMKDLoss.__init__).parameters['loss_weight'].default


def acam_kd_distiller(student_channels: Union[int, Sequence[int]],
                      teacher_channels: Union[int, Sequence[int]],
                      source: str = 'neck',
                      teacher_source: Optional[str] = None,
                      num_levels: Optional[int] = None,
                      level_weights: Optional[Sequence[float]] = None,
                      **loss_kwargs) -> dict:
    """A ``ConfigurableDistiller`` config with one ``ACAMKDLoss`` per recorded level.

    Args:
        student_channels: channels of the student's feature, one int for every level or one per level.
        teacher_channels: the same for the teacher.
        source: the student module whose output is distilled (``'neck'``, ``'decode_head.conv_seg'``).
        teacher_source: the teacher module; default ``source``.
        num_levels: the length of the tuple the module returns (5 for an FPN); None for a module that
            returns one tensor. Losses are named ``loss_acam_l{i}`` (``loss_acam`` for one tensor).
        level_weights: one factor per level on ``loss_weight`` (default: 1 for every level).
        **loss_kwargs: the other ``ACAMKDLoss`` arguments (``num_masks``, ``loss_weight``, ...).
    """
    loss = dict(type='ACAMKDLoss', student_channels=student_channels, teacher_channels=teacher_channels,
                **loss_kwargs)
    mapping = dict(preds_S=dict(from_student=True, recorder='acam'),
                   preds_T=dict(from_student=False, recorder='acam'))
    if num_levels is None:
        losses, mappings = dict(loss_acam=loss), dict(loss_acam=mapping)
    else:
        if level_weights is not None:
            if len(level_weights) != num_levels:
                raise ValueError(f'level_weights has {len(level_weights)} entries for {num_levels} levels.')
            base = loss.get('loss_weight', _ACAM_DEFAULT_LOSS_WEIGHT)  # the loss's own default if unset
            loss['loss_weight'] = [base * w for w in level_weights]
        for record in mapping.values():
            record['data_idx'] = LEVEL
        losses, _, mappings = expand_levels(num_levels, dict(loss_acam=loss), None, dict(loss_acam=mapping))
    return dict(
        type='ConfigurableDistiller',
        student_recorders=dict(acam=dict(type='ModuleOutputs', source=source)),
        teacher_recorders=dict(acam=dict(type='ModuleOutputs', source=teacher_source or source)),
        distill_losses=losses,
        loss_forward_mappings=mappings)


def merge_distillers(base: dict, extra: dict) -> dict:
    """``base`` with ``extra``'s recorders, losses, connectors and mappings added (names must not clash)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            clash = sorted(set(value) & set(merged[key]))
            if clash:
                raise ValueError(f'distiller.{key} {clash} clash with the names `acam` builds '
                                 "('acam' recorders, 'loss_acam*' losses); rename them.")
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@MODELS.register_module()
class ACAMKDDistill(TeacherDistill):
    """``TeacherDistill`` for ACAM-KD: a level-count shorthand and the online mask mode.

    Args:
        architecture, teacher, teacher_ckpt, teacher_forward: as in ``TeacherDistill``.
        distiller: a distiller config. With ``acam``, only what comes in addition (e.g. an L1 loss on
            the regression head, E6): its recorders, losses and mappings are merged into those ``acam``
            builds.
        acam: the arguments of ``acam_kd_distiller`` (``source``, ``num_levels``, the channels and
            the ``ACAMKDLoss`` arguments).
        mask_task_weight: weight of the teacher task loss on masked features (online mode only).
        **kwargs: the other ``TeacherDistill`` arguments.
    """

    def __init__(self,
                 architecture: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str],
                 distiller: Optional[dict] = None,
                 acam: Optional[dict] = None,
                 mask_task_weight: float = 1.0,
                 **kwargs) -> None:
        if distiller is None and acam is None:
            raise ValueError('ACAMKDDistill needs `acam=dict(num_levels=..., student_channels=..., '
                             'teacher_channels=..., ...)` (one ACAMKDLoss per level, built for you) and/or '
                             'a `distiller=dict(type=\'ConfigurableDistiller\', ...)`.')
        if acam is not None:
            distiller = merge_distillers(acam_kd_distiller(**acam), distiller or {})
        super().__init__(architecture, teacher, teacher_ckpt, distiller, **kwargs)
        self.mask_task_weight = mask_task_weight
        self._online = self._online_levels()

    def _online_levels(self) -> List[Tuple[str, Optional[int]]]:
        online, recorders = [], set()
        for name, loss in self.distiller.distill_losses.items():
            if isinstance(loss, ACAMKDLoss) and loss.mask_learning == 'online':
                record = self.distiller.loss_forward_mappings[name]['preds_T']
                recorders.add((record['recorder'], record.get('record_idx', 0)))
                online.append((name, record.get('data_idx')))
        if len(recorders) > 1:
            raise ValueError(f'Online ACAM-KD losses read the teacher from several records '
                             f'{sorted(recorders)}; the masked teacher task loss needs them all from one '
                             'recorder (e.g. the neck).')
        self._online_record = recorders.pop() if recorders else None
        return online

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None) -> Dict[str, torch.Tensor]:
        """``TeacherDistill.loss`` plus, in the online mode, the teacher task loss on masked features."""
        losses = super().loss(batch_inputs, data_samples)
        if self._online and not self.distillation_stopped:
            losses['distill.loss_acam_mask_task'] = (
                self.mask_task_weight * self._masked_teacher_task_loss(batch_inputs, data_samples))
        return losses  # TeacherDistill.loss touched every distiller parameter

    def _masked_teacher_task_loss(self, batch_inputs: torch.Tensor,
                                  data_samples: Optional[List[BaseDataElement]]) -> torch.Tensor:
        recorder_name, record_idx = self._online_record
        recorder = self.distiller.teacher_recorders.get_recorder(recorder_name)
        record = recorder.get_record_data(record_idx)
        feats = list(record) if isinstance(record, (tuple, list)) else [record]
        for name, data_idx in self._online:
            index = 0 if data_idx is None else data_idx
            feats[index] = self.distiller.distill_losses[name].mask_teacher(feats[index])
        masked = type(record)(feats) if isinstance(record, (tuple, list)) else feats[0]
        task_losses = self._teacher_task_loss(recorder.source, masked, batch_inputs, data_samples)
        loss, _ = self.teacher.parse_losses(task_losses)
        return loss

    def _teacher_task_loss(self, source: str, masked, batch_inputs: torch.Tensor,
                           data_samples: Optional[List[BaseDataElement]]) -> Dict[str, torch.Tensor]:
        """The frozen teacher's task loss with ``source``'s output replaced by ``masked``.

        ``neck``: the detector's heads on the masked features (``detector_loss_from_features``, the
        backbone is not rerun); mmseg's ``decode_head.conv_seg``: ``decode_head.loss_by_feat`` on the
        masked logits. Any other source: the whole teacher reruns with a forward hook on ``source``
        that returns the masked output.
        """
        teacher = self.teacher
        if source == 'neck' and hasattr(teacher, 'extract_feat'):
            return detector_loss_from_features(teacher, masked, data_samples)
        if source == 'decode_head.conv_seg' and hasattr(teacher.decode_head, 'loss_by_feat'):
            return teacher.decode_head.loss_by_feat(masked, data_samples)
        module = dict(teacher.named_modules())[source]
        handle = module.register_forward_hook(lambda mod, args, out: masked)
        try:
            return teacher(self.teacher_inputs(batch_inputs, data_samples), data_samples, mode='loss')
        finally:
            handle.remove()
