# ACAM-KD on the five FPN levels (P2-P6): Cascade Mask R-CNN X101-64x4d (mmdet 20e, 45.6 box mAP; the
# "ResNeXt-101" teacher that FGD and MasKD used for Faster R-CNN) teaches Faster R-CNN R50 (2x, 38.4).
# Paper target: 42.6 mAP (README.md).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmdet::cascade_rcnn/cascade-mask-rcnn_x101-64x4d_fpn_20e_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco_20200512_161033-bdb5126a.pth'  # noqa: E501
inherit_from_teacher = False  # True: "inheritance", the student's neck and head start from the teacher's
if inherit_from_teacher:
    _base_.model.neck.init_cfg = dict(type='Pretrained', prefix='neck', checkpoint=teacher_ckpt)
    _base_.model.rpn_head.init_cfg = dict(type='Pretrained', prefix='rpn_head', checkpoint=teacher_ckpt)

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',  # backbone + neck only
    acam=dict(source='neck', num_levels=5, student_channels=256, teacher_channels=256, num_masks=6,
              loss_weight=1.0, div_weight=1.0, mask_learning='joint', channel_mask='literal'))
custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='ACAMKDMaskLoggerHook')]
