# USKD (teacher-free) on the per-pixel logits of DeepLabV3-MobileNetV2-d8, Cityscapes 512x1024, 80k.
# Weak classifier: a 1x1 conv (inside USKDLoss) on backbone output 2 (96 channels, 1/8, the
# auxiliary head's input). Labels: a recorder on the student's `_stack_batch_gt` (see README).
# The DeepLabV3-R18 config with the student swapped for mmseg's
# mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py (its diff from DeepLabV3-R18-D8 below)
# and the weak classifier's input width to match; the loss is that config's: alpha 1, beta 0.1, mu 0.005 and
# loss_weight 1 on the whole term, the official scale. The tiny Cityscapes suite (24 generated 128x256 scenes,
# DeepLabV3-R18 d16 at 1/4 width, not MobileNetV2, seeds 0-2; not Cityscapes) measured weight 1 30.63 +- 0.22 mIoU
# (lost 4.6) and 0.1 34.69 +- 0.16 against the student's 35.22 +- 0.30: neither gained (configs/uskd/README.md).
# Its least harmful value: --cfg-options model.distiller.distill_losses.loss_uskd.loss_weight=0.1
_base_ = ['./uskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py']

mid_channels = 96  # width of backbone output 2 (mid_idx, as in the base)

model = dict(
    architecture=dict(
        pretrained='mmcls://mobilenet_v2',
        backbone=dict(
            _delete_=True,
            type='MobileNetV2',
            widen_factor=1.,
            strides=(1, 2, 2, 1, 1, 1, 1),
            dilations=(1, 1, 1, 2, 2, 4, 4),
            out_indices=(1, 2, 4, 6),
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        decode_head=dict(in_channels=320, channels=512),
        auxiliary_head=dict(in_channels=96, channels=256)),
    distiller=dict(distill_losses=dict(loss_uskd=dict(in_channels=mid_channels))))
