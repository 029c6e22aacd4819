# ACAM-KD on the five FPN levels: RepPoints-moment X101-64x4d with DCN in C3-C5 (mmdet 2x, 44.2 mAP; the
# "ResNeXt-101" teacher of FGD and MasKD) teaches RepPoints-moment R50 (2x, 38.6).
# Paper target: 42.8 mAP (README.md).
_base_ = ['./acam-kd_fpn_reppoints-r101_reppoints-r50_2x_coco.py']

teacher_cfg = 'mmdet::reppoints/reppoints-moment_x101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco_20200329-f87da1ea.pth'  # noqa: E501

model = dict(
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])  # X101-DCN's neck and head have R50's shapes
