# Demo segmentation distillation: channel-wise divergence on the 19-class logits (MMRazor's Cityscapes
# recipe: tau 1, recorders on decode_head.conv_seg), teacher DeepLabV3-R18 -> quarter-width student.
_base_ = ['./deeplabv3_r18-w16_synthetic-cityscapes.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = '{{ fileDirname }}/deeplabv3_r18_synthetic-cityscapes.py'
teacher_ckpt = 'work_dirs/demo_seg/teacher/iter_600.pth'

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='tensor',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=3)),
        loss_forward_mappings=dict(loss_cwd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits')))))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
