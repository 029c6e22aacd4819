# Tiny two-stage student: the teacher at a quarter of the backbone width (16 base channels), same 64-channel FPN,
# a quarter of the RoI head's fc width.
_base_ = ['./faster-rcnn_r18_synthetic-coco.py']
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128]),
    roi_head=dict(bbox_head=dict(fc_out_channels=64)))
