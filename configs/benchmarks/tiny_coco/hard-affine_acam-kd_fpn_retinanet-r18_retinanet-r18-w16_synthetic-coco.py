# HARD-affine around the demo ACAM-KD config for the tiny COCO suite
# (configs/hard/hard-affine_acam-kd_fpn_retina-r101_retina-r50_2x_coco.py at a CPU size).
_base_ = ['../../demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']

model = dict(
    type='HARDACAMKDDistill',
    augmentor=dict(type='AffineAugmentor', max_rotation=15.0, max_scale=1.25, max_shear=0.15, max_translate=0.1,
                   init_std=0.1, min_visible=0.3),
    augmentor_optimizer=dict(type='Adam', lr=0.01),
    augmentor_interval=1,
    augment_prob=0.5,
    teacher_weight=1.0)
custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='ACAMKDMaskLoggerHook')]
