# NKD on Faster R-CNN's 81-way softmax RoI classifier, R101 -> R50, COCO 2x. The teacher's RoI
# head classifies the student's sampled RoIs (RoITeacherDistill); rows = the 512 sampled RoIs per
# image, target = the assigned label, background (80) included.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_cfg = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'  # noqa: E501
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
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
