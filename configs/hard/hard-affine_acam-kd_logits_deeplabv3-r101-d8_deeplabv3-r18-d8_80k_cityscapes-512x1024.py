# HARD-affine (Nix et al., 2023) around ACAM-KD on the logits, DeepLabV3 R101 -> R18, Cityscapes 80k: a learned
# distribution of bounded affine transforms, updated by its own optimizer to maximise the ACAM-KD loss while the
# teacher still segments the warped label map (nearest, 255 outside); half of each student batch is warped.
# Our reading of the paper (README.md): the augmentor, its objective and every value below are our choices.
_base_ = ['../acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py']

model = dict(
    type='HARDACAMKDDistill',
    augmentor=dict(type='AffineAugmentor', max_rotation=15.0, max_scale=1.25, max_shear=0.15, max_translate=0.1,
                   init_std=0.1),
    augmentor_optimizer=dict(type='Adam', lr=0.01),
    augmentor_interval=1,
    augment_prob=0.5,
    teacher_weight=1.0)
