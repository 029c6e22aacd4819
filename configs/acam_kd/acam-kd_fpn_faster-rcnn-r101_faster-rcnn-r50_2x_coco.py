# ACAM-KD on the five FPN levels (P2-P6): Faster R-CNN R101 (mmdet 2x, 39.8 mAP) teaches Faster R-CNN R50
# (2x, 38.4). Paper target: 41.4 mAP (README.md).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'  # noqa: E501

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',  # backbone + neck only
    inherit_from_teacher=[],  # ['neck', 'rpn_head', 'roi_head']: "inheritance" (student starts from the teacher)
    acam=dict(source='neck', num_levels=5, student_channels=256, teacher_channels=256, num_masks=6,
              loss_weight=1.0, div_weight=1.0, mask_learning='joint', channel_mask='literal'))
custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='ACAMKDMaskLoggerHook')]
