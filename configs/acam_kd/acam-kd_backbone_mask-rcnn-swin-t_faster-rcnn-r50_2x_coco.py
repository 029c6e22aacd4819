# A heterogeneous pair: ACAM-KD on the four backbone stages, Swin-T (Mask R-CNN Swin-T 3x, 46.0 box AP)
# teaches a ResNet-50 Faster R-CNN (2x). The channels differ at every stage (Swin-T 96/192/384/768, R50
# 256/512/1024/2048); ACAMKDLoss aligns them (a 1x1 projection of the student's features to the teacher's
# width, as for any channel mismatch), the spatial sizes match (strides 4-32 in both). Swin's 7x7 windows
# need no special treatment: the teacher runs backbone + neck only. Not trained here; loss weights are
# the FPN recipe's (the paper's alpha = 1 times level weights halving per stage), untuned for backbone features.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/swin/mask_rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco/mask_rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco_20210906_131725-bacf6f7b.pth'  # noqa: E501
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='feat',
    acam=dict(source='backbone', num_levels=4, student_channels=[256, 512, 1024, 2048],
              teacher_channels=[96, 192, 384, 768], num_masks=6, loss_weight=1.0,
              level_weights=[1.0, 0.5, 0.25, 0.125],
              kv_max_tokens=4096))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'),
    acam_kd_masks=dict(type='ACAMKDMaskLoggerHook'))
