# MCMI's distillers (configs/mcmi/README.md), shared by the MCMI fine-tuning configs: the recorders that give
# MCMILoss the teacher's logits and labels. `distiller=_base_.mcmi_seg_distiller` (mmseg decode heads),
# `_base_.mcmi_anchor_distiller` (mmdet anchor heads: every FPN level's cls_scores and labels) or
# `_base_.mcmi_roi_distiller` (a two-stage detector's RoI head: the sampled RoIs' scores and assigned labels,
# background included); set `num_classes` of `loss_mcmi` where the head has another class count.
_stack_gt = 'mmseg.models.decode_heads.decode_head.BaseDecodeHead._stack_batch_gt'
_anchor_head = 'mmdet.models.dense_heads.anchor_head.AnchorHead'
_bbox_head_loss = 'mmdet.models.roi_heads.bbox_heads.bbox_head.BBoxHead.loss'
mcmi_seg_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='decode_head.conv_seg'),
        gt=dict(type='MethodOutputs', source=_stack_gt)),  # record 0: the decode head's labels
    distill_losses=dict(loss_mcmi=dict(type='MCMILoss', num_classes=19, loss_weight=0.15)),
    loss_forward_mappings=dict(
        loss_mcmi=dict(
            preds=dict(from_student=True, recorder='logits'),
            gt_labels=dict(from_student=True, recorder='gt'))))
mcmi_anchor_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        # loss_by_feat's inputs: 0 = the per-level cls_scores; get_targets' outputs: 0 = per-level labels
        inputs=dict(type='MethodInputs', source=f'{_anchor_head}.loss_by_feat'),
        targets=dict(type='MethodOutputs', source=f'{_anchor_head}.get_targets')),
    distill_losses=dict(loss_mcmi=dict(type='MCMILoss', num_classes=80, loss_weight=0.15)),
    loss_forward_mappings=dict(
        loss_mcmi=dict(
            preds=dict(from_student=True, recorder='inputs', data_idx=0),
            gt_labels=dict(from_student=True, recorder='targets', data_idx=0))))
mcmi_roi_distiller = dict(
    type='ConfigurableDistiller',
    # BBoxHead.loss's inputs: 0 = cls_score (sampled RoIs x (80 + 1)), 3 = their assigned labels (80: background)
    student_recorders=dict(roi=dict(type='MethodInputs', source=_bbox_head_loss)),
    distill_losses=dict(loss_mcmi=dict(type='MCMILoss', num_classes=81, loss_weight=0.15)),
    loss_forward_mappings=dict(
        loss_mcmi=dict(
            preds=dict(from_student=True, recorder='roi', data_idx=0),
            gt_labels=dict(from_student=True, recorder='roi', data_idx=3))))
