"""MCMI's teacher fine-tuning (Ye et al., ICLR 2024, arXiv 2401.08732) as an MMRazor algorithm.

The model being trained is the teacher itself: ``architecture`` is the teacher's detector or segmentor,
``teacher_ckpt`` its pretrained checkpoint (loaded strictly), and the distiller's ``MCMILoss`` adds
-lambda * CMI to its task loss. The run's student-only export (``StudentCheckpointHook``,
``<name>_student.pth``) is the fine-tuned teacher, which any distillation config takes as its
``teacher_ckpt`` unchanged.
"""
from typing import Optional, Union

from mmengine.model import BaseModel
from mmrazor.registry import MODELS

from ..utils import load_teacher_checkpoint
from ..utils.init_report import dump_init_info
from ..utils.student import STUDENT_PREFIX
from .teacher_free_distill import TeacherFreeDistill


@MODELS.register_module()
class MCMIFineTune(TeacherFreeDistill):
    """Fine-tune a pretrained teacher on its task loss plus ``MCMILoss`` (CE - lambda * CMI).

    Args:
        architecture: the teacher to fine-tune: a model dict, ``dict(cfg_path=..., **overrides)`` or a model.
        teacher_ckpt: its pretrained checkpoint, loaded strictly (every key and shape must match); a
            distillation checkpoint's student (``architecture.*``) is accepted.
        distiller: a ``ConfigurableDistiller`` whose recorders hook the teacher's logits and labels and
            whose ``distill_losses`` hold the ``MCMILoss`` (see configs/mcmi).
        **kwargs: as ``TeacherFreeDistill``.

    Raises:
        ValueError: ``teacher_ckpt`` unset or not matching the architecture (key by key).
        FileNotFoundError: ``teacher_ckpt`` does not exist.
    """

    def __init__(self, architecture: Union[dict, BaseModel], teacher_ckpt: Optional[str], distiller: dict,
                 **kwargs) -> None:
        super().__init__(architecture=architecture, distiller=distiller, **kwargs)
        load_teacher_checkpoint(self.architecture, teacher_ckpt)
        self.architecture._is_init = True  # init_weights() must not overwrite the loaded weights

    def _dump_init_info(self) -> None:
        """MMEngine's initialisation report for the distiller; one line for the loaded teacher."""
        count = sum(1 for _ in self.architecture.parameters())
        dump_init_info(self, f'Teacher to fine-tune: {count} parameters as loaded from teacher_ckpt (left '
                             'out of the initialisation report).', skip_prefix=STUDENT_PREFIX)
