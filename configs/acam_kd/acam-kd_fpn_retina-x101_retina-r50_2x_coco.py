# ACAM-KD on the five FPN levels: RetinaNet X101-64x4d (mmdet 2x, 40.8 mAP) teaches RetinaNet R50 (2x,
# 37.4). Paper target: 41.5 mAP (README.md).
_base_ = ['./acam-kd_fpn_retina-r101_retina-r50_2x_coco.py']

teacher_cfg = 'mmdet::retinanet/retinanet_x101-64x4d_fpn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_x101_64x4d_fpn_2x_coco/retinanet_x101_64x4d_fpn_2x_coco_20200131-bca068ab.pth'  # noqa: E501

model = dict(
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])  # X101's neck and head have R50's shapes
