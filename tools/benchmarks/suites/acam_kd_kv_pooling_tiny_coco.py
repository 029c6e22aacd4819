# ACAM-KD with STCA-FF's keys/values average-pooled at P3 (stride 2), on the tiny COCO suite: does the
# pooling that makes the RetinaNet step cheaper at 512x512 (kv_max_tokens=1024: P3's 64x64 keys/values ->
# 32x32) cost accuracy? At the suite's 128x128 images P3 has 16x16 = 256 positions, so kv_max_tokens=64
# pools P3 by 2 and leaves P4-P7 alone, the same as 1024 does at 512x512.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_kv_pooling_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
acam = 'configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    acam_kd=dict(config=acam, label='ACAM-KD, FPN (full keys/values)'),
    acam_kv_p3=dict(config=acam, label='ACAM-KD, P3 keys/values pooled x2',
                    options=['model.acam.kv_max_tokens=64']),
)
