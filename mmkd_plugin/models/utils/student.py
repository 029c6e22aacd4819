"""The student of a distillation algorithm: its state-dict prefix and how to reach it.

An MMRazor distillation algorithm holds the student as ``architecture``, the frozen teacher as
``teacher`` and the distiller's own modules as ``distiller``; their weights are saved under these
prefixes. Every part of the plugin that reads or writes "the student" takes these names from here.
"""
from mmengine.model import is_model_wrapper
from torch import nn

STUDENT_ATTR = 'architecture'
STUDENT_PREFIX = STUDENT_ATTR + '.'
TEACHER_PREFIX = 'teacher.'
DISTILLER_PREFIX = 'distiller.'


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside an MMEngine model wrapper (DDP, FSDP, the CPU wrapper), or ``model`` itself."""
    return model.module if is_model_wrapper(model) else model


def student_of(model: nn.Module, default=None):
    """The student (``architecture``) of ``model`` (wrapped or not), or ``default`` if it has none."""
    return getattr(unwrap(model), STUDENT_ATTR, default)


def is_distillation(model: nn.Module) -> bool:
    """Whether ``model`` (wrapped or not) is a distillation algorithm: a student ``architecture`` and a
    ``distiller``."""
    model = unwrap(model)
    return student_of(model) is not None and hasattr(unwrap(model), 'distiller')

