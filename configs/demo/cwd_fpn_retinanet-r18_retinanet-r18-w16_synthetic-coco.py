# Demo distillation: channel-wise divergence (MMRazor's CWD) on the five FPN levels, teacher R18 ->
# student R18 at quarter width. The teacher runs only backbone + neck ('feat').
_base_ = ['./retinanet_r18-w16_synthetic-coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = '{{ fileDirname }}/retinanet_r18_synthetic-coco.py'
teacher_ckpt = 'work_dirs/demo/teacher/epoch_20.pth'
levels = 5

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses={f'loss_cwd_p{i + 3}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=2.0)
                        for i in range(levels)},
        loss_forward_mappings={
            f'loss_cwd_p{i + 3}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in range(levels)
        }))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
