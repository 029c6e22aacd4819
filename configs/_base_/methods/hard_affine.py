# HARD-affine's settings (configs/hard/README.md), shared by the HARD configs: `model = _base_.hard_affine`
# after inheriting an ACAM-KD config merges them into its model.
hard_affine = dict(
    type='HARDACAMKDDistill',
    augmentor=dict(type='AffineAugmentor', max_rotation=15.0, max_scale=1.25, max_shear=0.15, max_translate=0.1,
                   init_std=0.1, min_visible=0.3,
                   # centred on the identity, spread learned: a learned centre drifted to a fixed zoom or shift
                   # and lost mAP on the tiny COCO suite (configs/hard/README.md)
                   learn_mean=False),
    augmentor_optimizer=dict(type='Adam', lr=0.01),
    augmentor_interval=1,  # one augmentor step per student step
    augment_prob=0.5,
    teacher_weight=1.0)
