# ACAM-KD on the five FPN levels: RepPoints-moment X101-64x4d with DCN in C3-C5 (mmdet 2x, 44.2 mAP; the
# "ResNeXt-101" teacher of FGD and MasKD) teaches RepPoints-moment R50 (2x, 38.6).
# Paper target: 42.8 mAP (README.md).
_base_ = ['mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmdet::reppoints/reppoints-moment_x101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco_20200329-f87da1ea.pth'  # noqa: E501
inherit_from_teacher = False  # True: "inheritance", the student's neck and head start from the teacher's
if inherit_from_teacher:
    _base_.model.neck.init_cfg = dict(type='Pretrained', prefix='neck', checkpoint=teacher_ckpt)
    _base_.model.bbox_head.init_cfg = dict(type='Pretrained', prefix='bbox_head', checkpoint=teacher_ckpt)

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
