# ACAM-KD on the five FPN levels (P2-P6): Cascade Mask R-CNN X101-64x4d (mmdet 20e, 45.6 box mAP; the
# "ResNeXt-101" teacher that FGD and MasKD used for Faster R-CNN) teaches Faster R-CNN R50 (2x, 38.4).
# Paper target: 42.6 mAP (README.md).
_base_ = ['./acam-kd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py']

teacher_cfg = 'mmdet::cascade_rcnn/cascade-mask-rcnn_x101-64x4d_fpn_20e_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco_20200512_161033-bdb5126a.pth'  # noqa: E501

model = dict(
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'rpn_head'])  # the cascade RoI head has no Faster R-CNN shape
