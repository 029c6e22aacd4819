# NKD on RetinaNet's classification logits, R101 -> R50, COCO 2x. Per FPN level, the positive
# anchors (label in [0, 80)) are the rows: softmax over the 80 sigmoid logits, target = GT class.
# Negatives (label 80 = background) are skipped: they have no target class (see README). loss_weight 0.1
# per level: weight 1 lost mAP on the tiny COCO suite, 0.1 lost least (README; none gained there).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmdet::retinanet/retinanet_r101_fpn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r101_fpn_2x_coco/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'  # noqa: E501
# Inputs of the student's per-level loss (record_idx = level): 0 cls_score, 3 labels, 7 avg_factor.
loss_single = 'mmdet.models.dense_heads.anchor_head.AnchorHead.loss_by_feat_single'
levels = 5

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
        student_recorders=dict(level=dict(type='MethodInputs', source=loss_single)),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='bbox_head.retina_cls')),
        distill_losses={f'loss_nkd_p{i + 3}': dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=0.1)
                        for i in range(levels)},
        loss_forward_mappings={
            f'loss_nkd_p{i + 3}': dict(
                preds_S=dict(from_student=True, recorder='level', record_idx=i, data_idx=0),
                preds_T=dict(from_student=False, recorder='logits', record_idx=i),
                gt_labels=dict(from_student=True, recorder='level', record_idx=i, data_idx=3),
                avg_factor=dict(from_student=True, recorder='level', record_idx=i, data_idx=7))
            for i in range(levels)
        }))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'))
