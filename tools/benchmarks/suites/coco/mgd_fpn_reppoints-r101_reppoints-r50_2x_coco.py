# Peer for the full-scale COCO suite: MMRazor's MGD (alpha 2e-5, lambda 0.65 as in its RetinaNet config)
# on the five FPN levels through our TeacherDistill; teacher, student and schedule as in
# acam-kd_fpn_reppoints-r101_reppoints-r50_2x_coco.py.
_base_ = ['../../../../configs/acam_kd/acam-kd_fpn_reppoints-r101_reppoints-r50_2x_coco.py']

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
        level_connectors=dict(s_mgd=dict(type='MGDConnector', student_channels=256, teacher_channels=256,
                                         lambda_mgd=0.65)),
        level_losses=dict(loss_mgd=dict(type='MGDLoss', alpha_mgd=2e-5)),
        level_mappings=dict(loss_mgd=dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx='level', connector='s_mgd'),
            preds_T=dict(from_student=False, recorder='fpn', data_idx='level')))))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
