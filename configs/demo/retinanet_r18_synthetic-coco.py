# Demo teacher: RetinaNet ResNet-18 (64-channel FPN) trained from scratch on the generated COCO set.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/synthetic_20e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(depth=18, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    bbox_head=dict(num_classes=3, in_channels=64, feat_channels=64, stacked_convs=2))
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=2), logger=dict(interval=10))
