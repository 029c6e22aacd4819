# Full-scale COCO2017 suite: the ACAM-KD paper's set-ups (R101 -> R50, 2x, 8 GPUs x 2 images) with our
# methods and MMRazor's CWD/PKD/MGD (tools/benchmarks/suites/coco/, through our TeacherDistill, same pair and
# schedule). Not run in this repository (no GPUs): `--dry-run` builds and steps every config offline.
#   python tools/benchmarks/accuracy.py tools/benchmarks/suites/coco.py --seeds 3 --launcher pytorch --gpus 8
#   python tools/benchmarks/accuracy.py tools/benchmarks/suites/coco.py --launcher slurm --partition P
# Hours: rough estimates per run on 8 V100-class GPUs (about 0.3 s per iteration for a 2x R50 student,
# plus the R101 teacher forward for distillation), not measurements.
metric = 'coco/bbox_mAP'
launcher = dict(kind='pytorch', gpus=8, hours_per_run=20)
to_2x = ['train_cfg.max_epochs=24', 'param_scheduler.1.end=24', 'param_scheduler.1.milestones=[16,22]']
acam_notes = 'ACAM-KD, ICCV 2025, Table 1 (relayed by third-party notes of the paper)'
zoo = 'https://download.openmmlab.com/mmdetection/v2.0/'
pairs = dict(
    retinanet=dict(
        teacher=dict(config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
                     checkpoint=zoo + 'retinanet/retinanet_r101_fpn_2x_coco/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'),  # noqa: E501
        student=dict(config='mmdet::retinanet/retinanet_r50_fpn_2x_coco.py', label='RetinaNet R50 2x alone',
                     hours=16, target=dict(value=37.4, source='mmdet 3.3.0 model zoo')),
        variants=dict(
            acam_kd=dict(config='configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py', label='ACAM-KD',
                         target=dict(value=41.2, baseline=37.4, source=acam_notes)),
            nkd=dict(config='configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py', label='NKD'),
            pskd=dict(config='configs/pskd/pskd_retina-r50_1x_coco.py', label='PS-KD (no teacher), 2x',
                      options=to_2x, hours=18),
            cwd=dict(config='tools/benchmarks/suites/coco/cwd_fpn_retina-r101_retina-r50_2x_coco.py',
                     label='MMRazor CWD', peer=True),
            pkd=dict(config='tools/benchmarks/suites/coco/pkd_fpn_retina-r101_retina-r50_2x_coco.py',
                     label='MMRazor PKD', peer=True),
            mgd=dict(config='tools/benchmarks/suites/coco/mgd_fpn_retina-r101_retina-r50_2x_coco.py',
                     label='MMRazor MGD', peer=True))),
    faster_rcnn=dict(
        teacher=dict(config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
                     checkpoint=zoo + 'faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'),  # noqa: E501
        student=dict(config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py', label='Faster R-CNN R50 2x alone',
                     hours=16, target=dict(value=38.4, source='mmdet 3.3.0 model zoo')),
        variants=dict(
            acam_kd=dict(config='configs/acam_kd/acam-kd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
                         label='ACAM-KD', target=dict(value=41.4, baseline=38.4, source=acam_notes)),
            nkd=dict(config='configs/nkd/nkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
                     label='NKD on RoI logits'),
            pskd=dict(config='configs/pskd/pskd_faster-rcnn-r50_1x_coco.py', label='PS-KD (no teacher), 2x',
                      options=to_2x, hours=18),
            cwd=dict(config='tools/benchmarks/suites/coco/cwd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
                     label='MMRazor CWD', peer=True),
            pkd=dict(config='tools/benchmarks/suites/coco/pkd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
                     label='MMRazor PKD', peer=True,
                     target=dict(value=40.4, baseline=38.4, source="MMRazor 1.0.0's PKD metafile, same pair")),
            mgd=dict(config='tools/benchmarks/suites/coco/mgd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
                     label='MMRazor MGD', peer=True))),
    reppoints=dict(
        teacher=dict(config='mmdet::reppoints/reppoints-moment_r101_fpn-gn_head-gn_2x_coco.py',
                     checkpoint=zoo + 'reppoints/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco_20200329-4fbc7310.pth'),  # noqa: E501
        student=dict(config='mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py',
                     label='RepPoints R50 2x alone', hours=20,
                     target=dict(value=38.6, source='mmdet 3.3.0 model zoo')),
        variants=dict(
            acam_kd=dict(config='configs/acam_kd/acam-kd_fpn_reppoints-r101_reppoints-r50_2x_coco.py',
                         label='ACAM-KD', hours=26, target=dict(value=42.5, baseline=38.6, source=acam_notes)),
            cwd=dict(config='tools/benchmarks/suites/coco/cwd_fpn_reppoints-r101_reppoints-r50_2x_coco.py',
                     label='MMRazor CWD', peer=True, hours=26),
            pkd=dict(config='tools/benchmarks/suites/coco/pkd_fpn_reppoints-r101_reppoints-r50_2x_coco.py',
                     label='MMRazor PKD', peer=True, hours=26),
            mgd=dict(config='tools/benchmarks/suites/coco/mgd_fpn_reppoints-r101_reppoints-r50_2x_coco.py',
                     label='MMRazor MGD', peer=True, hours=26))),
)
