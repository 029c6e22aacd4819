from .teacher_distill import TeacherDistill

__all__ = ['TeacherDistill']
