# HARD-affine settings on the tiny Cityscapes suite (3 seeds): the augmentor's centre learned, against the
# default (fixed at the identity).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/hard_tuning_tiny_cityscapes.py --jobs 2`
_base_ = ['./hard_tiny_cityscapes.py']
variants = dict(
    hard_learned_centre=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/hard-affine_acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='HARD-affine + ACAM-KD, centre learned',
        options=['model.augmentor.learn_mean=True']))
