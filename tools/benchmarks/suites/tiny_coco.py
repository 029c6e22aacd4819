# Tiny COCO accuracy suite: the demo pair (RetinaNet-R18 teacher -> quarter-width RetinaNet-R18 student) on
# the generated COCO set, on CPU. `python tools/benchmarks/accuracy.py tools/benchmarks/suites/tiny_coco.py`.
# Format: tools/benchmarks/accuracy_suite.py.
metric = 'coco/bbox_mAP'
data = dict(generate='coco', out_dir='data/synthetic', num_train=48, num_val=128)
teacher = dict(config='configs/demo/retinanet_r18_synthetic-coco.py', checkpoint=None)  # trained first
student = dict(config='configs/demo/retinanet_r18-w16_synthetic-coco.py', label='student alone')
# No validation during training (MMEngine validates at the last epoch whatever val_interval says):
# tools/test.py evaluates the exported student.
train_options = ['default_hooks.checkpoint.interval=5', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
test_options = []
variants = dict(
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    pkd=dict(config='tools/benchmarks/suites/tiny_coco/pkd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor PKD, FPN', peer=True),
    mgd=dict(config='tools/benchmarks/suites/tiny_coco/mgd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor MGD, FPN', peer=True),
    acam_kd=dict(config='configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
                 label='ACAM-KD, FPN'),
    nkd=dict(config='tools/benchmarks/suites/tiny_coco/nkd_logits_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='NKD, classification logits (per-class sigmoid form)'),
    pskd=dict(config='tools/benchmarks/suites/tiny_coco/pskd_retinanet-r18-w16_synthetic-coco.py',
              label='PS-KD (no teacher)'),
)
launcher = dict(kind='none', gpus=0, hours_per_run=0.02)
