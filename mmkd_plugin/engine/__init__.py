from .hooks import *  # noqa: F401,F403
from .model_wrappers import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .runner import DistillRunner, ResumeRefused
from .student_checkpoint import export_student, student_checkpoint, student_checkpoint_path

__all__ = ['DistillRunner', 'ResumeRefused', 'export_student', 'student_checkpoint', 'student_checkpoint_path']
