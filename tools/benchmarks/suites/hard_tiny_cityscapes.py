# HARD-affine on the tiny Cityscapes suite: ACAM-KD on the logits with and without the learned affine augmentor
# (same teacher, same schedule).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/hard_tiny_cityscapes.py --jobs 2`
_base_ = ['./tiny_cityscapes.py']
variants = dict(
    _delete_=True,
    acam_kd=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='ACAM-KD, logits (no HARD)'),
    hard_acam_kd=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/hard-affine_acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='HARD-affine + ACAM-KD, logits (centre fixed, spread learned)'),
    hard_acam_kd_no_teacher_grad=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/hard-affine_acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='HARD-affine + ACAM-KD, the augmentor step with the teacher under no_grad (the former approximation)',
        options=['model.augmentor_teacher_grad=False']),
)
