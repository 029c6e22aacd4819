"""Logit distillation on the classification branch of mmdet's one-stage heads, one builder for all.

Where the student's logits and their labels meet differs per head: RetinaNet, ATSS, GFL and RTMDet
compute their classification loss per FPN level in ``loss_by_feat_single`` (each with its own argument
order); FCOS flattens every level and calls its ``loss_cls`` once. Spelling that out in a config means
one loss and one mapping per level with the head's argument positions as magic ``data_idx`` values.
``DenseHeadLogitDistiller`` takes the head's name and one loss, and expands it from :data:`HEAD_LOGITS`
(through :class:`PerLevelDistiller`).

Labels reach the loss as mmdet's assigner gives them to the head: class index for positives, ``C``
(``num_classes``) for negatives and for the anchors the assigner ignores (their label weights, 0 in the head's
own loss, are not recorded). ``NKDLoss`` skips the label-``C`` rows in its softmax form and, with
``probability='sigmoid', negatives='teacher_mass'``, weights them by the teacher's object probability
(``nkd_sigmoid.py``); configs/nkd/README.md has the choice and its measurement.
"""
from typing import Dict, NamedTuple, Optional

from mmrazor.registry import MODELS
from torch import nn

from .per_level_distiller import LEVEL, PerLevelDistiller


class HeadLogits(NamedTuple):
    """Where one head's classification logits and labels are recorded.

    ``student``: the recorded method (``MethodInputs``) or loss module (``ModuleInputs``); ``cls_score``,
    ``labels``, ``avg_factor``: positions of its arguments (``avg_factor`` None: the head has none);
    ``teacher``: the teacher module whose output per level is the logits (``{level}`` in a per-level
    module list) with ``teacher_forward='tensor'``, or None: the teacher's own ``student`` record with
    ``teacher_forward='loss'`` (its rows are in the same order when the head geometry matches).
    """
    student: str
    cls_score: int
    labels: int
    avg_factor: Optional[int]
    teacher: Optional[str]
    per_level: bool = True


_DENSE = 'mmdet.models.dense_heads.'
HEAD_LOGITS: Dict[str, HeadLogits] = {
    'RetinaHead': HeadLogits(_DENSE + 'anchor_head.AnchorHead.loss_by_feat_single', 0, 3, 7, 'bbox_head.retina_cls'),
    'ATSSHead': HeadLogits(_DENSE + 'atss_head.ATSSHead.loss_by_feat_single', 1, 4, 7, 'bbox_head.atss_cls'),
    'GFLHead': HeadLogits(_DENSE + 'gfl_head.GFLHead.loss_by_feat_single', 1, 3, 7, 'bbox_head.gfl_cls'),
    'RTMDetHead': HeadLogits(_DENSE + 'rtmdet_head.RTMDetHead.loss_by_feat_single', 0, 2, None, 'bbox_head.rtm_cls'),
    'RTMDetSepBNHead': HeadLogits(_DENSE + 'rtmdet_head.RTMDetHead.loss_by_feat_single', 0, 2, None,
                                  'bbox_head.rtm_cls.{level}'),
    # FCOS: loss_cls(flat_cls_scores, flat_labels, avg_factor=num_pos), every level in one call.
    'FCOSHead': HeadLogits('bbox_head.loss_cls', 0, 1, None, None, per_level=False),
}


@MODELS.register_module()
class DenseHeadLogitDistiller(PerLevelDistiller):
    """One logit loss per FPN level of an mmdet dense head, from the head's name.

    Example (NKD on GFL, R101 → R50)::

        model = dict(..., teacher_forward='tensor', distiller=dict(
            type='DenseHeadLogitDistiller', head='GFLHead', num_levels=5,
            loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=0.1,
                      probability='sigmoid', negatives='teacher_mass')))

    gives ``loss_logits_l0`` ... ``loss_logits_l4``, each called as
    ``loss(preds_S=cls_score, preds_T=teacher logits, gt_labels=labels, avg_factor=avg_factor)`` at
    that level (``avg_factor`` left out for heads without one). ``FCOSHead`` is one call over all levels
    (``num_levels=1``) and needs ``teacher_forward='loss'``.

    Args:
        head: the class name of the student's (and teacher's) ``bbox_head``, a key of
            :data:`HEAD_LOGITS`.
        loss: the loss config (it takes ``preds_S``, ``preds_T``, ``gt_labels`` and, where the head has
            one, ``avg_factor``).
        num_levels: the number of FPN levels of the head (1 for FCOS).
        name: the loss name (``{name}_l{i}``).
        **kwargs: further ``PerLevelDistiller`` arguments (extra losses, connectors).

    Raises:
        ValueError: an unknown ``head``; ``num_levels`` other than 1 for a head that computes all
            levels at once. When the models are attached: a student or teacher whose ``bbox_head`` is not
            ``head`` (its most specific class in ``HEAD_LOGITS``).
    """

    def __init__(self, head: str, loss: dict, num_levels: int, name: str = 'loss_logits', **kwargs) -> None:
        if head not in HEAD_LOGITS:
            raise ValueError(f'DenseHeadLogitDistiller: head {head!r} is not supported; supported heads: '
                             f'{sorted(HEAD_LOGITS)} (add an entry to HEAD_LOGITS for another head).')
        layout = HEAD_LOGITS[head]
        if not layout.per_level and num_levels != 1:
            raise ValueError(f'{head} computes its classification loss over all levels in one call: '
                             f'set num_levels=1, got {num_levels}.')
        self.head = head
        recorder = 'MethodInputs' if layout.per_level else 'ModuleInputs'
        level = LEVEL if layout.per_level else 0
        student = dict(from_student=True, recorder='head', record_idx=level)
        mapping = dict(preds_S=dict(student, data_idx=layout.cls_score),
                       gt_labels=dict(student, data_idx=layout.labels))
        if layout.avg_factor is not None:
            mapping['avg_factor'] = dict(student, data_idx=layout.avg_factor)
        teacher_recorders = {}
        if layout.teacher is None:  # the teacher's own loss call (teacher_forward='loss')
            teacher_recorders['head'] = dict(type=recorder, source=layout.student)
            mapping['preds_T'] = dict(from_student=False, recorder='head', record_idx=level,
                                      data_idx=layout.cls_score)
        elif '{level}' in layout.teacher:  # one module per level, each called once
            for i in range(num_levels):
                teacher_recorders[f'logits_l{i}'] = dict(type='ModuleOutputs', source=layout.teacher.format(level=i))
            mapping['preds_T'] = dict(from_student=False, recorder='logits_l{level}', record_idx=0)
        else:  # one module called once per level
            teacher_recorders['logits'] = dict(type='ModuleOutputs', source=layout.teacher)
            mapping['preds_T'] = dict(from_student=False, recorder='logits', record_idx=LEVEL)
        super().__init__(
            num_levels=num_levels,
            student_recorders={**(kwargs.pop('student_recorders', None) or {}),
                               'head': dict(type=recorder, source=layout.student)},
            teacher_recorders={**(kwargs.pop('teacher_recorders', None) or {}), **teacher_recorders},
            level_losses={**(kwargs.pop('level_losses', None) or {}), name: loss},
            level_mappings={**(kwargs.pop('level_mappings', None) or {}), name: mapping},
            **kwargs)

    def _check_head(self, model, role: str) -> None:
        """The model's ``bbox_head`` must be ``head`` by its most specific entry of ``HEAD_LOGITS`` (an
        ``RTMDetSepBNHead`` is an ``RTMDetHead`` too, but its logits come from other modules)."""
        head = getattr(model, 'bbox_head', None)
        entry = next((c.__name__ for c in type(head).__mro__ if c.__name__ in HEAD_LOGITS), None)
        if entry != self.head:
            fix = f'set head={entry!r}' if entry else 'HEAD_LOGITS does not cover it'
            raise ValueError(f'DenseHeadLogitDistiller(head={self.head!r}): the {role}\'s bbox_head is '
                             f'{type(head).__name__}; {fix}.')

    def prepare_from_student(self, model) -> None:
        self._check_head(model, 'student')
        super().prepare_from_student(model)

    def prepare_from_teacher(self, model) -> None:
        self._check_head(model, 'teacher')
        source = HEAD_LOGITS[self.head].teacher
        if source and '{level}' not in source and isinstance(model.get_submodule(source), nn.ModuleList):
            raise ValueError(f'DenseHeadLogitDistiller(head={self.head!r}): the teacher\'s {source} is a list of '
                             f'per-level modules ({type(model.bbox_head).__name__}), which the {self.head} entry '
                             f'records as one module; add a HEAD_LOGITS entry for it with {source}.{{level}}.')
        super().prepare_from_teacher(model)
