# ACAM-KD on the 19-class logits for the tiny Cityscapes suite: demo teacher DeepLabV3-R18 ->
# quarter-width student (configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_*.py at a
# CPU size: M = 19 masks, f_align not needed).
_base_ = ['../../demo/cwd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py']

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model.architecture,
    teacher=_base_.model.teacher,
    teacher_ckpt=_base_.teacher_ckpt,
    teacher_forward='tensor',
    # The loss's defaults: the readings that won the ablations (docs/methods/acam_kd.md).
    acam=dict(source='decode_head.conv_seg', num_levels=None, student_channels=19, teacher_channels=19,
              num_masks=19))
custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='ACAMKDMaskLoggerHook')]
