# Peer for the full-scale Cityscapes suite: MMRazor's CWD on the 19-class logits (tau 1, loss weight 5 as
# in its Cityscapes config) through our TeacherDistill; teacher, student and schedule as in
# acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py.
_base_ = ['../../../../configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py']

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model.architecture,
    teacher=_base_.model.teacher,
    teacher_ckpt=_base_.teacher_ckpt,
    teacher_forward='tensor',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)),
        loss_forward_mappings=dict(loss_cwd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits')))))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
