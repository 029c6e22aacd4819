# Peer for the full-scale COCO suite: MMRazor's PKD (loss weight 6 as in its Faster R-CNN config)
# on the five FPN levels through our TeacherDistill; teacher, student and schedule as in
# acam-kd_fpn_retina-r101_retina-r50_2x_coco.py.
_base_ = ['../../../../configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py']

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model.architecture,
    teacher=_base_.model.teacher,
    teacher_ckpt=_base_.teacher_ckpt,
    teacher_forward='feat',
    inherit_from_teacher=_base_.model.inherit_from_teacher,  # the same recipe as ACAM-KD
    distiller=dict(
        type='PerLevelDistiller',
        num_levels=5,
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        level_losses=dict(loss_pkd=dict(type='PKDLoss', loss_weight=6)),
        level_mappings=dict(loss_pkd=dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx='level'),
            preds_T=dict(from_student=False, recorder='fpn', data_idx='level')))))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
