# HARD-affine around ACAM-KD on the logits for the tiny Cityscapes suite
# (configs/hard/hard-affine_acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py at a CPU size).
_base_ = ['./acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',
          '../../../../configs/_base_/methods/hard_affine.py']

model = _base_.hard_affine  # merged into the inherited ACAM-KD model
