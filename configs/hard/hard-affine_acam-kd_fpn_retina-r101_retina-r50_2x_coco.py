# HARD-affine (Nix et al., 2023) around ACAM-KD on the FPN levels, RetinaNet R101 -> R50, COCO 2x: a learned
# distribution of bounded affine transforms, updated by its own optimizer to maximise the ACAM-KD loss while the
# teacher still detects the warped boxes; the student trains on batches in which half of the images are warped.
# Our reading of the paper (README.md): the augmentor, its objective and every value below are our choices.
_base_ = ['../acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py']

model = dict(
    type='HARDACAMKDDistill',
    augmentor=dict(type='AffineAugmentor', max_rotation=15.0, max_scale=1.25, max_shear=0.15, max_translate=0.1,
                   init_std=0.1, min_visible=0.3),
    augmentor_optimizer=dict(type='Adam', lr=0.01),
    augmentor_interval=1,  # one augmentor step per student step
    augment_prob=0.5,
    teacher_weight=1.0)
