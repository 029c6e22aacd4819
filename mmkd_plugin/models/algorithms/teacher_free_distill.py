"""Distillation without a teacher (self-KD such as USKD): MMRazor's ``SelfDistill``, made friendlier.

``mmrazor.SelfDistill`` already runs the student once with its recorders on and then the
distiller's losses, which is all a teacher-free method needs. Compared with it:

- ``architecture`` may be a config file (local or ``pkg::path``) via ``dict(cfg_path=...)``, or a
  model dict without ``_scope_`` (the scope of the package that registers its type is used), like
  ``TeacherDistill``; MMRazor would look an ``EncoderDecoder`` up in its own registry and fail;
- a recorder that names a module the student lacks is reported with the closest module names.

Trainable parts of the losses (e.g. USKD's weak classifier) live in ``distiller.distill_losses``:
they are optimised with the student and saved in the checkpoint; the student-only export
(``StudentCheckpointHook``) leaves them out.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms import SelfDistill
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS

from ..distillers.per_level_distiller import expanded_mappings
from ..utils.runner_check import require_distill_runner
from ..utils import (FiniteLossMixin, build_model, check_loss_forward_mappings, check_recorder_sources,
                     check_records, handle_loaded_checkpoints, touch_parameters)


@MODELS.register_module()
class TeacherFreeDistill(FiniteLossMixin, SelfDistill):
    """Self-distillation of ``architecture`` with a ``ConfigurableDistiller`` and no teacher.

    Args:
        architecture: the student: a model dict, ``dict(cfg_path=..., **overrides)`` or a model.
        distiller: the distiller config; its recorders (student and ``teacher_recorders`` alike)
            hook the student.
        nonfinite_loss: ``'raise'`` (stop at a NaN/inf loss, naming it) or ``'skip'`` the step.
        **kwargs: the other arguments of ``mmrazor.SelfDistill`` (``data_preprocessor``,
            ``calculate_student_loss``, ...).
    """

    def __init__(self, architecture: Union[dict, BaseModel], distiller: dict, nonfinite_loss: str = 'raise',
                 **kwargs) -> None:
        require_distill_runner(type(self).__name__)  # first: nothing is built for a wrong Runner
        self.set_nonfinite_policy(nonfinite_loss)
        if 'teacher' in kwargs or 'teacher_ckpt' in kwargs:
            raise ValueError('TeacherFreeDistill has no teacher; remove `teacher`/`teacher_ckpt`, or '
                             'use TeacherDistill for distillation from a teacher.')
        # The Runner copies a config's top-level `data_preprocessor` (every mmseg config has one, without
        # the student's `size`) into the model dict; the student's own preprocessor is the one to use.
        kwargs.pop('data_preprocessor', None)
        architecture = build_model(architecture, 'student')
        for role in ('student', 'teacher'):
            check_recorder_sources(distiller.get(f'{role}_recorders'), architecture, 'student')
        check_loss_forward_mappings(expanded_mappings(distiller))
        super().__init__(architecture=architecture, distiller=distiller, **kwargs)
        handle_loaded_checkpoints(self)

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None) -> Dict[str, torch.Tensor]:
        """The student's loss forward with every recorder on, then the distillation losses."""
        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.teacher_recorders, self.distiller.deliveries:
            student_losses = self.student(batch_inputs, data_samples, mode='loss')
        losses = add_prefix(student_losses, 'student') if self.calculate_student_loss else {}
        check_records(self.distiller, self.student, self.student, None)
        losses.update(add_prefix(self.distiller.compute_distill_losses(), 'distill'))
        return touch_parameters(losses, self.distiller.parameters())
