# Tiny Cityscapes accuracy suite: the demo pair (DeepLabV3-R18 teacher -> quarter-width student) on the
# generated Cityscapes set, on CPU. `python tools/benchmarks/accuracy.py tools/benchmarks/suites/tiny_cityscapes.py`.
# Format: tools/benchmarks/accuracy_suite.py.
metric = 'mIoU'
data = dict(generate='cityscapes', out_dir='data/synthetic', num_train=24, num_val=64)
teacher = dict(config='configs/demo/deeplabv3_r18_synthetic-cityscapes.py', checkpoint=None)
student = dict(config='configs/demo/deeplabv3_r18-w16_synthetic-cityscapes.py', label='student alone')
# The students train 400 of the teacher's 600 iterations (the poly schedule ends with them); no validation
# during training: tools/test.py evaluates the student-only checkpoint.
train_options = ['train_cfg.max_iters=400', 'param_scheduler.1.end=400', 'val_cfg=None', 'val_dataloader=None',
                 'val_evaluator=None',
                 'default_hooks.checkpoint.interval=400']
test_options = []
variants = dict(
    cwd=dict(config='configs/demo/cwd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',
             label='MMRazor CWD, logits', peer=True),
    acam_kd=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='ACAM-KD, logits'),
    nkd=dict(
        config='tools/benchmarks/suites/tiny_cityscapes/nkd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
        label='NKD, logits'),
    uskd=dict(config='tools/benchmarks/suites/tiny_cityscapes/uskd_deeplabv3-r18-w16_synthetic-cityscapes.py',
              label='USKD (no teacher)'),
    pskd=dict(config='configs/demo/pskd_deeplabv3_r18-w16_synthetic-cityscapes.py', label='PS-KD (no teacher)'),
)
launcher = dict(kind='none', gpus=0, hours_per_run=0.03)
