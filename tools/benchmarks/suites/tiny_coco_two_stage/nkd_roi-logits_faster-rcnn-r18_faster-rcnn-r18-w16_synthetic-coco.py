# NKD on the student's sampled RoIs (4-way softmax, background included), the mapping of
# configs/nkd/nkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py at the official values
# (temp 1, gamma 1.5, loss weight 1): the teacher's RoI head classifies the student's RoIs (RoITeacherDistill).
_base_ = ['./faster-rcnn_r18-w16_synthetic-coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = '{{ fileDirname }}/faster-rcnn_r18_synthetic-coco.py'
teacher_ckpt = 'work_dirs/benchmarks/tiny_coco_two_stage/teacher/epoch_20.pth'
get_targets = 'mmdet.models.roi_heads.bbox_heads.bbox_head.BBoxHead.get_targets'

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='RoITeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='roi_head.bbox_head.fc_cls'),
            targets=dict(type='MethodOutputs', source=get_targets)),  # (labels, label_weights, ...)
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='roi_head.bbox_head.fc_cls')),
        distill_losses=dict(loss_nkd=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_nkd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(from_student=True, recorder='targets', data_idx=0)))))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
