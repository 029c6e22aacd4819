# Demo segmentation teacher: DeepLabV3 ResNetV1c-18 (d8) from scratch on the generated Cityscapes set.
# BN instead of the stock SyncBN, so that it runs on CPU and under gloo DDP.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    '../_base_/datasets/synthetic_cityscapes.py',
    '../_base_/schedules/synthetic_seg_600it.py',
    'mmseg::_base_/default_runtime.py',
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(128, 256)),
    backbone=dict(depth=18, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), norm_cfg=norm_cfg),
    decode_head=dict(in_channels=512, channels=64, dilations=(1, 3, 6, 9), norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=32, norm_cfg=norm_cfg))
