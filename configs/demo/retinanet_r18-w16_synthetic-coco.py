# Demo student: RetinaNet ResNet-18 at a quarter of the width (16 base channels), same 64-channel FPN
# output as the teacher so FPN features can be distilled without an adapter.
_base_ = ['./retinanet_r18_synthetic-coco.py']
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128]),
    bbox_head=dict(feat_channels=32, stacked_convs=1))
