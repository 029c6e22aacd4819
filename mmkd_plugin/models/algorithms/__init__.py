from .acam_kd_distill import ACAMKDDistill, acam_kd_distiller
from .teacher_distill import TeacherDistill

__all__ = ['ACAMKDDistill', 'acam_kd_distiller', 'TeacherDistill']