from .acam_kd_distill import ACAMKDDistill, acam_kd_distiller
from .hard_distill import HARDACAMKDDistill, HARDDistill, HARDMixin
from .mcmi_fine_tune import MCMIFineTune
from .roi_teacher_distill import RoITeacherDistill
from .teacher_distill import TeacherDistill
from .teacher_free_distill import TeacherFreeDistill

__all__ = ['ACAMKDDistill', 'acam_kd_distiller', 'HARDACAMKDDistill', 'HARDDistill', 'HARDMixin', 'MCMIFineTune',
           'RoITeacherDistill', 'TeacherDistill', 'TeacherFreeDistill']
