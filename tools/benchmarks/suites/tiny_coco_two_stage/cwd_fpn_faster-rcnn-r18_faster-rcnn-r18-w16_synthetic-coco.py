# The peer on the tiny two-stage suite: MMRazor's CWD on the five FPN levels (P2-P6), the demo's settings
# (tau 1, loss weight 2 per level; configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py).
_base_ = ['./faster-rcnn_r18-w16_synthetic-coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = '{{ fileDirname }}/faster-rcnn_r18_synthetic-coco.py'
teacher_ckpt = 'work_dirs/benchmarks/tiny_coco_two_stage/teacher/epoch_20.pth'
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
        distill_losses={f'loss_cwd_p{i + 2}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=2.0)
                        for i in range(levels)},
        loss_forward_mappings={
            f'loss_cwd_p{i + 2}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in range(levels)
        }))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
