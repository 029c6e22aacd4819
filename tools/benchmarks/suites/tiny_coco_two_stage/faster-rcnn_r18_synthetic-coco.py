# Tiny two-stage teacher: Faster R-CNN ResNet-18 (64-channel FPN) trained from scratch on the generated COCO set,
# the demo RetinaNet teacher's backbone, neck, data and schedule under mmdet's Faster R-CNN heads.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../../../../configs/_base_/datasets/synthetic_coco.py',
    '../../../../configs/_base_/schedules/synthetic_20e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(depth=18, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=3)))
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=2), logger=dict(interval=10))
