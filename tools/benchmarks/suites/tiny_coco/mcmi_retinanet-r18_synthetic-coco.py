# MCMI teacher fine-tuning for the tiny COCO suite: the demo teacher RetinaNet-R18 (20 epochs) is fine-tuned
# 2 more (1/10 of its schedule; the paper: 20 epochs after 240) on its task loss - lambda * CMI over the
# positive anchors (configs/mcmi/mcmi_retinanet-r101_2e-ft_coco.py at a CPU size). The suite passes the
# trained teacher as model.teacher_ckpt (teacher_stage in tools/benchmarks/suites/mcmi_tiny_coco.py).
_base_ = ['../../../../configs/demo/retinanet_r18_synthetic-coco.py',
          '../../../../configs/_base_/methods/mcmi.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

fine_tune_epochs = 2

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='MCMIFineTune',
    architecture=_base_.model,
    teacher_ckpt='work_dirs/demo/teacher/epoch_20.pth',
    distiller=_base_.mcmi_anchor_distiller)
model['distiller']['distill_losses']['loss_mcmi']['num_classes'] = 3  # the demo detector's classes
# The teacher's initial learning rate, cosine-annealed to 0 (the official recipe), after a 10-iteration
# warm-up (ours: AdamW starts with fresh moment estimates).
train_cfg = dict(max_epochs=fine_tune_epochs, val_interval=fine_tune_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=fine_tune_epochs, eta_min=0, by_epoch=True, begin=0,
         end=fine_tune_epochs, convert_to_iter_based=True),
]
default_hooks = dict(
    checkpoint=dict(interval=fine_tune_epochs),
    mcmi_centroids=dict(type='MCMICentroidHook'),
    student_checkpoint=dict(type='StudentCheckpointHook'))
