# NKD on RetinaNet's classification logits for the tiny COCO suite (same mapping as
# configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py): per FPN level the positive anchors are the
# rows, softmax over the 3 class logits, target = the GT class; negatives are skipped. loss_weight 0.1:
# weight 1 lost 0.07 mAP on this suite, 0.3 and 0.1 lost 0.03 (configs/benchmarks/tuning_tiny_coco.py).
_base_ = ['../../demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']
loss_single = 'mmdet.models.dense_heads.anchor_head.AnchorHead.loss_by_feat_single'

model = dict(
    teacher_forward='tensor',
    distiller=dict(
        _delete_=True,
        type='PerLevelDistiller',
        num_levels=5,
        student_recorders=dict(level=dict(type='MethodInputs', source=loss_single)),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='bbox_head.retina_cls')),
        level_losses=dict(loss_nkd=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=0.1)),
        level_mappings=dict(loss_nkd=dict(
            preds_S=dict(from_student=True, recorder='level', record_idx='level', data_idx=0),
            preds_T=dict(from_student=False, recorder='logits', record_idx='level'),
            gt_labels=dict(from_student=True, recorder='level', record_idx='level', data_idx=3),
            avg_factor=dict(from_student=True, recorder='level', record_idx='level', data_idx=7)))))
