# HARD-affine around ACAM-KD on the logits for the tiny Cityscapes suite
# (configs/hard/hard-affine_acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py at a CPU size).
_base_ = ['./acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py']

model = dict(
    type='HARDACAMKDDistill',
    augmentor=dict(type='AffineAugmentor', max_rotation=15.0, max_scale=1.25, max_shear=0.15, max_translate=0.1,
                   init_std=0.1),
    augmentor_optimizer=dict(type='Adam', lr=0.01),
    augmentor_interval=1,
    augment_prob=0.5,
    teacher_weight=1.0)
