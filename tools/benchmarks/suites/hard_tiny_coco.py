# HARD-affine on the tiny COCO suite: ACAM-KD with and without the learned affine augmentor (same teacher, same
# schedule). `python tools/benchmarks/accuracy.py tools/benchmarks/suites/hard_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
variants = dict(
    _delete_=True,
    acam_kd=dict(config='configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
                 label='ACAM-KD, FPN (no HARD)'),
    hard_acam_kd=dict(
        config='tools/benchmarks/suites/tiny_coco/hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',  # noqa: E501
        label='HARD-affine + ACAM-KD, FPN (centre fixed, spread learned)'),
    hard_acam_kd_no_teacher_grad=dict(
        config='tools/benchmarks/suites/tiny_coco/hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',  # noqa: E501
        label='HARD-affine + ACAM-KD, the augmentor step with the teacher under no_grad (the former approximation)',
        options=['model.augmentor_teacher_grad=False']),
)
