from .acam_kd_mask_logger_hook import ACAMKDMaskLoggerHook
from .acam_kd_mask_visualizer_hook import ACAMKDMaskVisualizerHook
from .pskd_hook import PSKDHook
from .reseed_hook import ReseedHook
from .student_checkpoint_hook import StudentCheckpointHook

__all__ = ['ACAMKDMaskLoggerHook', 'ACAMKDMaskVisualizerHook', 'PSKDHook', 'ReseedHook', 'StudentCheckpointHook']
