# Demo distillation: ACAM-KD on the five FPN levels, teacher R18 -> student R18 at quarter width (both
# with a 64-channel FPN, so f_align is the identity). The teacher runs only backbone + neck ('feat').
_base_ = ['./retinanet_r18-w16_synthetic-coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = '{{ fileDirname }}/retinanet_r18_synthetic-coco.py'
teacher_ckpt = 'work_dirs/demo/teacher/epoch_20.pth'

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',
    # The ablation's winner (docs/methods/acam_kd.md): the loss's defaults, and level weights halving
    # from P3 to P7 (raw FPN energy grows with stride; equal weights let P6/P7 dominate).
    acam=dict(source='neck', num_levels=5, student_channels=64, teacher_channels=64,
              num_masks=6, level_weights=[1.0, 0.5, 0.25, 0.125, 0.0625]))
# The plugin's hooks go in default_hooks (a dict, merged with the student config's): a custom_hooks
# list here would replace the student config's own hooks (EMA, pipeline switches).
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'),
    acam_kd_masks=dict(type='ACAMKDMaskLoggerHook'),
    # the masks over a fixed validation image after the first epoch and at the end (vis_data/vis_image)
    acam_kd_mask_pictures=dict(type='ACAMKDMaskVisualizerHook',
                               image=_base_.data_root + 'images/val/val_000000.jpg', iters=[12]))
