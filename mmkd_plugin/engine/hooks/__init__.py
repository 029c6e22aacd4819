from .acam_kd_mask_logger_hook import ACAMKDMaskLoggerHook
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = ['ACAMKDMaskLoggerHook', 'StudentCheckpointHook']