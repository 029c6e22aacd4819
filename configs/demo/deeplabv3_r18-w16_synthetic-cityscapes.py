# Demo segmentation student: the teacher's DeepLabV3-R18 at a quarter of the width (16 stem/base channels).
_base_ = ['./deeplabv3_r18_synthetic-cityscapes.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
