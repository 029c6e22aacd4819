# HARD-affine around the demo ACAM-KD config for the tiny COCO suite
# (configs/hard/hard-affine_acam-kd_fpn_retina-r101_retina-r50_2x_coco.py at a CPU size).
_base_ = ['../../../../configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
          '../../../../configs/_base_/methods/hard_affine.py']

model = _base_.hard_affine  # merged into the inherited ACAM-KD model
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'),
    acam_kd_masks=dict(type='ACAMKDMaskLoggerHook'))
