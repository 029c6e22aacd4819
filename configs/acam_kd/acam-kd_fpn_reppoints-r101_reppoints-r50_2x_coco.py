# ACAM-KD on the five FPN levels: RepPoints-moment R101 (GN neck + head, mmdet 2x, 40.5 mAP) teaches
# RepPoints-moment R50 (2x, 38.6). Paper target: 42.5 mAP (README.md).
_base_ = ['mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmdet::reppoints/reppoints-moment_r101_fpn-gn_head-gn_2x_coco.py'
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco/reppoints_moment_r101_fpn_gn-neck%2Bhead_2x_coco_20200329-4fbc7310.pth'  # noqa: E501

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',  # backbone + neck only
    inherit_from_teacher=[],  # ['neck', 'bbox_head']: "inheritance" (student starts from the teacher)
    acam=dict(source='neck', num_levels=5, student_channels=256, teacher_channels=256, num_masks=6,
              loss_weight=1.0, div_weight=1.0, mask_learning='joint', channel_mask='literal'))
custom_hooks = [dict(type='StudentCheckpointHook'), dict(type='ACAMKDMaskLoggerHook')]
