"""Single-teacher distillation that fixes MMRazor's teacher traps.

Compared with ``mmrazor.SingleTeacherDistill`` (which it subclasses, so MMRazor's hooks and loops
keep working):

- ``architecture`` and ``teacher`` may be a config file, local (``configs/x.py``) or from a package
  (``mmdet::...``), via ``dict(cfg_path=..., **overrides)``, or an ordinary model dict;
- ``teacher_ckpt`` is required and loads strictly; any mismatch is listed key by key;
- the frozen teacher is always in eval mode (dropout, BN and every other train-time behaviour off);
- the teacher runs only what distillation needs (``teacher_forward``): its features
  (``'feat'``: backbone + neck), its raw head outputs (``'tensor'``) or its losses (``'loss'``);
- a recorder that names a module the model lacks is reported with the closest module names;
- ``inherit_from_teacher=['neck', 'bbox_head']`` starts those student modules from the loaded
  teacher's weights ("inheritance", Kang et al., NeurIPS 2021), shapes checked, after which
  ``init_weights()`` leaves them alone;
- the student's data preprocessor makes the batch (also when the Runner injects a config's
  top-level ``data_preprocessor`` into the model dict); a teacher that normalises differently gets the
  batch converted to its own normalisation (``TeacherInputs``); different padding stops the build;
- checkpoints loaded into it (``load_from``) may be plain student checkpoints; a checkpoint's teacher
  never replaces ``teacher_ckpt``'s (``distill_state_dict``).

Validation and testing evaluate the student only (``mode='predict'`` goes to ``architecture``). To
evaluate the teacher as well, set ``val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')``.
"""
import contextlib
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS

from ..distillers.per_level_distiller import expanded_mappings
from ..utils.init_report import dump_init_info
from ..utils.runner_check import require_distill_runner
from ..utils import (FiniteLossMixin, TeacherInputs, build_model, check_loss_forward_mappings,
                     check_recorder_sources, check_records, handle_loaded_checkpoints, inherit_modules,
                     load_teacher_checkpoint, touch_parameters)

TEACHER_FORWARDS = ('feat', 'tensor', 'loss')


@MODELS.register_module()
class TeacherDistill(FiniteLossMixin, SingleTeacherDistill):
    """Distil a student from one frozen, strictly loaded teacher.

    Args:
        architecture: the student: a model dict, ``dict(cfg_path=..., **overrides)`` or a model.
        teacher: the teacher, in the same forms.
        teacher_ckpt: path of the teacher's checkpoint (required; loaded strictly).
        distiller: the distiller config, e.g. ``dict(type='ConfigurableDistiller', ...)``.
        inherit_from_teacher: names of student modules (e.g. ``['neck', 'bbox_head']``) initialised
            from the teacher's modules of the same names; every key and shape must match.
        nonfinite_loss: ``'raise'`` stops at a NaN/inf loss naming the term and the iteration;
            ``'skip'`` warns and makes that step's loss zero.
        teacher_forward: what the teacher runs each step: ``'feat'`` (``extract_feat``: backbone and
            neck; for FPN/feature distillation), ``'tensor'`` (the network's raw outputs, no loss
            and no post-processing; for logit distillation) or ``'loss'`` (the full loss forward,
            for methods that need the teacher's label assignment or task loss).
        **kwargs: the other arguments of ``mmrazor.SingleTeacherDistill`` (``data_preprocessor``,
            ``calculate_student_loss``, ...).
    """

    def __init__(self,
                 architecture: Union[dict, BaseModel],
                 teacher: Union[dict, BaseModel],
                 teacher_ckpt: Optional[str],
                 distiller: dict,
                 teacher_forward: str = 'tensor',
                 inherit_from_teacher: Sequence[str] = (),
                 nonfinite_loss: str = 'raise',
                 **kwargs) -> None:
        require_distill_runner(type(self).__name__)  # first: no teacher is loaded for a wrong Runner
        self.set_nonfinite_policy(nonfinite_loss)
        if teacher_forward not in TEACHER_FORWARDS:
            raise ValueError(f'teacher_forward must be one of {TEACHER_FORWARDS}, got {teacher_forward!r}.')
        if kwargs.pop('teacher_trainable', False):
            raise ValueError('TeacherDistill keeps the teacher frozen; train the teacher in its own run.')
        # The Runner copies a config's top-level `data_preprocessor` (every mmseg config has one) into
        # the model dict, where it would replace the student's own. Teacher and student share the
        # student's preprocessor, as in MMRazor; change it in the student config.
        kwargs.pop('data_preprocessor', None)
        architecture = build_model(architecture, 'student')
        teacher = build_model(teacher, 'teacher')
        load_teacher_checkpoint(teacher, teacher_ckpt)
        inherited = inherit_modules(architecture, teacher, inherit_from_teacher)
        # MMRazor hooks the recorders inside __init__ and fails with a bare assertion on a wrong name.
        check_recorder_sources(distiller.get('student_recorders'), architecture, 'student')
        check_recorder_sources(distiller.get('teacher_recorders'), teacher, 'teacher')
        check_loss_forward_mappings(expanded_mappings(distiller))
        super().__init__(architecture=architecture, distiller=distiller, teacher=teacher, **kwargs)
        self.teacher_forward = teacher_forward
        self.teacher._is_init = True  # init_weights() must not overwrite the loaded weights
        self.teacher.eval()
        self._inherited = inherited
        handle_loaded_checkpoints(self)
        self.teacher_inputs = TeacherInputs(self.data_preprocessor, self.teacher.data_preprocessor)
        if not self.teacher_inputs.identity:
            print_log('The teacher normalises its inputs differently from the student; each batch is '
                      f'converted for it ({self.teacher_inputs.settings}).', logger='current')

    def init_weights(self) -> None:
        """MMEngine's initialisation, then the inherited student modules loaded again over it."""
        super().init_weights()
        if self._inherited:
            print_log(f'Student modules inherited from the teacher: {sorted(self._inherited)}.',
                      logger='current')
        modules = dict(self.architecture.named_modules())
        for name, state in self._inherited.items():
            modules[name].load_state_dict(state, strict=True)

    def run_teacher(self, batch_inputs: torch.Tensor,
                    data_samples: Optional[List[BaseDataElement]]) -> None:
        """Run what the teacher runs each step (``teacher_forward``); called inside ``no_grad`` but for HARD."""
        batch_inputs = self.teacher_inputs(batch_inputs, data_samples)
        if self.teacher_forward == 'feat':
            self.teacher.extract_feat(batch_inputs)
        else:
            self.teacher(batch_inputs, data_samples, mode=self.teacher_forward)

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None) -> Dict[str, torch.Tensor]:
        """Teacher forward (recorded, no grad), student loss forward (recorded), distill losses."""
        student_losses, distill_losses = self.recorded_losses(batch_inputs, data_samples)
        losses = dict()
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))
        if distill_losses is not None:
            losses.update(add_prefix(distill_losses, 'distill'))
        return touch_parameters(losses, self.distiller.parameters())

    def recorded_losses(self, batch_inputs: torch.Tensor, data_samples: Optional[List[BaseDataElement]],
                        teacher_grad: bool = False) -> Tuple[Dict[str, torch.Tensor], Optional[Dict]]:
        """The student's task losses and the distiller's losses (None once distillation has stopped).

        The teacher runs without gradient unless ``teacher_grad``: then its outputs keep the graph to
        ``batch_inputs`` (its parameters are frozen and receive nothing), for HARD's augmentor step.
        """
        self.distiller.set_deliveries_override(False)
        grad = contextlib.nullcontext() if teacher_grad else torch.no_grad()
        with self.distiller.teacher_recorders, self.distiller.deliveries, grad:
            self.run_teacher(batch_inputs, data_samples)

        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            student_losses = self.student(batch_inputs, data_samples, mode='loss')
        if self.distillation_stopped:
            return student_losses, None
        check_records(self.distiller, self.student, self.teacher, self.teacher_forward)
        return student_losses, self.distiller.compute_distill_losses()

    def _dump_init_info(self) -> None:
        """MMEngine's initialisation report for the student and distiller; one line for the teacher."""
        count = sum(1 for _ in self.teacher.parameters())
        dump_init_info(self, f'Teacher: {count} parameters as loaded from teacher_ckpt, frozen, in eval '
                             'mode (left out of the initialisation report).')

    def train(self, mode: bool = True) -> 'TeacherDistill':
        """Switch the student and distiller; the frozen teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self
