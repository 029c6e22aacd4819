"""Distil a two-stage detector's RoI head: the teacher's RoI head runs on the student's RoIs.

Logit distillation in Faster R-CNN's (C+1)-way softmax RoI head needs the teacher's classification
of the very RoIs the student sampled and was assigned labels for; the teacher's own RPN proposals
and sampling would give other boxes. ``TeacherDistill`` runs the teacher before the student, so the
student's RoIs do not exist yet. ``RoITeacherDistill`` turns the order round:

1. the student runs its loss forward (student recorders on); the algorithm records the RoIs that
   enter the student's ``roi_head.bbox_roi_extractor`` (its second input, (K, 5) boxes with the
   batch index) with a MMRazor ``ModuleInputs`` recorder of its own;
2. the frozen teacher runs ``extract_feat`` and then ``roi_head._bbox_forward(feats, rois)`` on
   those RoIs, without gradient and with the teacher recorders on.

Record the logits of both models at ``roi_head.bbox_head.fc_cls`` (row k = RoI k in both) and the
student's assigned labels as the output of ``BBoxHead.get_targets`` (``data_idx=0``; background =
C), e.g. for ``NKDLoss``. This is the recording point MasKD's Faster R-CNN config uses for its
regression term. Deliveries (teacher outputs replacing student computations) are not supported,
since the teacher runs second.
"""
import contextlib
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.structures import BaseDataElement
from mmrazor.models.task_modules import RecorderManager
from mmrazor.registry import MODELS

from ..utils import build_model, check_records
from .teacher_distill import TeacherDistill

ROI_EXTRACTOR = 'roi_head.bbox_roi_extractor'


@MODELS.register_module()
class RoITeacherDistill(TeacherDistill):
    """``TeacherDistill`` whose teacher classifies the student's sampled RoIs.

    Args:
        architecture: the student two-stage detector (``roi_head`` with ``bbox_roi_extractor``).
        teacher: the teacher two-stage detector (``roi_head`` with ``_bbox_forward(x, rois)``, i.e.
            mmdet's ``StandardRoIHead`` and its subclasses; cascade heads are not supported).
        teacher_ckpt: path of the teacher's checkpoint (required; loaded strictly).
        distiller: the distiller config; ``distill_deliveries`` must be empty.
        **kwargs: the other arguments of ``TeacherDistill`` except ``teacher_forward``.
    """

    def __init__(self, architecture, teacher, teacher_ckpt: Optional[str], distiller: dict,
                 **kwargs) -> None:
        if kwargs.pop('teacher_forward', 'roi') != 'roi':
            raise ValueError('RoITeacherDistill always runs the teacher on the student RoIs; remove '
                             '`teacher_forward` (or use TeacherDistill for another teacher forward).')
        if distiller.get('distill_deliveries'):
            raise ValueError('RoITeacherDistill runs the teacher after the student, so deliveries '
                             '(teacher outputs overriding the student) cannot work; remove '
                             '`distill_deliveries` or use TeacherDistill.')
        from mmdet.models.roi_heads import StandardRoIHead  # mmdet only where a detector is distilled
        architecture, teacher = build_model(architecture, 'student'), build_model(teacher, 'teacher')
        for role, model in (('student', architecture), ('teacher', teacher)):
            roi_head = getattr(model, 'roi_head', None)
            if not isinstance(roi_head, StandardRoIHead):
                raise TypeError(
                    f'RoITeacherDistill needs a two-stage {role} with a single-stage RoI head (mmdet '
                    f'StandardRoIHead or a subclass), got {type(roi_head).__name__}: a cascade head '
                    'scores the RoIs in several stages, so there is no one set of RoI logits. Use '
                    'TeacherDistill with teacher_forward="tensor" for one-stage detectors, or a Faster '
                    'R-CNN-style teacher.')
        super().__init__(architecture, teacher, teacher_ckpt, distiller, teacher_forward='feat',
                         **kwargs)
        self.teacher_forward = 'roi'
        self.student_rois = RecorderManager(dict(rois=dict(type='ModuleInputs', source=ROI_EXTRACTOR)))
        self.student_rois.initialize(self.student)

    def run_teacher(self, batch_inputs: torch.Tensor,
                    data_samples: Optional[List[BaseDataElement]]) -> None:
        """The teacher's features and RoI head on the RoIs of the student's last loss forward."""
        rois = self.student_rois.get_recorder('rois').get_record_data(record_idx=0, data_idx=1)
        feats = self.teacher.extract_feat(self.teacher_inputs(batch_inputs, data_samples))
        self.teacher.roi_head._bbox_forward(feats, rois.detach())

    def recorded_losses(self, batch_inputs: torch.Tensor, data_samples: Optional[List[BaseDataElement]],
                        teacher_grad: bool = False) -> Tuple[Dict[str, torch.Tensor], Optional[Dict]]:
        """Student loss forward (recorded), teacher RoI head on the student RoIs, distill losses."""
        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries, self.student_rois:
            student_losses = self.student(batch_inputs, data_samples, mode='loss')

        grad = contextlib.nullcontext() if teacher_grad else torch.no_grad()
        with self.distiller.teacher_recorders, grad:
            self.run_teacher(batch_inputs, data_samples)

        if self.distillation_stopped:
            return student_losses, None
        check_records(self.distiller, self.student, self.teacher, 'roi')
        return student_losses, self.distiller.compute_distill_losses()
