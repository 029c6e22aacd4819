from .distill_runner import DistillRunner
from .resume_check import ResumeRefused

__all__ = ['DistillRunner', 'ResumeRefused']
