# MCMI teacher fine-tuning for the tiny Cityscapes suite: the demo teacher DeepLabV3-R18 (600 iterations) is
# fine-tuned 60 more (1/10 of its schedule; the paper: 20 epochs after 240) on CE - lambda * CMI
# (configs/mcmi/mcmi_deeplabv3-r101-d8_8k-ft_cityscapes-512x1024.py at a CPU size). The suite passes the
# trained teacher as model.teacher_ckpt (teacher_stage in tools/benchmarks/suites/mcmi_tiny_cityscapes.py).
_base_ = ['../../../../configs/demo/deeplabv3_r18_synthetic-cityscapes.py',
          '../../../../configs/_base_/methods/mcmi.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

fine_tune_iters = 60

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='MCMIFineTune',
    architecture=_base_.model,
    teacher_ckpt='work_dirs/demo_seg/teacher/iter_600.pth',
    distiller=_base_.mcmi_seg_distiller)
# The teacher's initial learning rate, cosine-annealed to 0 (the official recipe), after a 10-iteration
# warm-up (ours: AdamW starts with fresh moment estimates).
train_cfg = dict(max_iters=fine_tune_iters, val_interval=fine_tune_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=fine_tune_iters - 10, eta_min=0, by_epoch=False, begin=10,
         end=fine_tune_iters),
]
default_hooks = dict(
    checkpoint=dict(interval=fine_tune_iters),
    mcmi_centroids=dict(type='MCMICentroidHook'),
    student_checkpoint=dict(type='StudentCheckpointHook'))
