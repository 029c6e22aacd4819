from .acam_kd_mask_logger_hook import ACAMKDMaskLoggerHook
from .acam_kd_mask_visualizer_hook import ACAMKDMaskVisualizerHook
from .checkpoint_fit_hook import CheckpointFitHook
from .mcmi_centroid_hook import MCMICentroidHook
from .pskd_hook import PSKDHook
from .reseed_hook import ReseedHook
from .student_checkpoint_hook import StudentCheckpointHook
from .student_view_hook import StudentViewHook

__all__ = ['ACAMKDMaskLoggerHook', 'ACAMKDMaskVisualizerHook', 'CheckpointFitHook', 'MCMICentroidHook', 'PSKDHook',
           'ReseedHook', 'StudentCheckpointHook', 'StudentViewHook']
