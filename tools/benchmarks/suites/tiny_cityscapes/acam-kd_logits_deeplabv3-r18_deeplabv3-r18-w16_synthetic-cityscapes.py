# ACAM-KD on the 19-class logits for the tiny Cityscapes suite: demo teacher DeepLabV3-R18 ->
# quarter-width student (the pair of configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_*.py at
# a CPU size: M = 19 masks, f_align not needed). Its loss is the masked channel-wise divergence tuned here
# (distance='kl', channel masks), not the paper's masked squared error that the full-scale config keeps.
_base_ = ['../../../../configs/demo/cwd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py']

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model.architecture,
    teacher=_base_.model.teacher,
    teacher_ckpt=_base_.teacher_ckpt,
    teacher_forward='tensor',
    # The loss's mask defaults (the COCO ablations' winner: mask-weighted mean, mass 10, min-max masks).
    acam=dict(source='decode_head.conv_seg', num_levels=None, student_channels=19, teacher_channels=19,
              num_masks=19,
              # On logits the masks weigh divergences (CWD's per-class spatial KL, the per-pixel class KL)
              # of the raw logits: squared errors lost mIoU on the tiny Cityscapes suite, or gained at most
              # 0.6 (docs/methods/acam_kd.md, "Ablation on the Cityscapes logits").
              # Channel masks only (masked CWD): the spatial term (per-pixel class KL) cost mIoU in the screen.
              distance='kl', tau=1.0, feature_norm=None, loss_weight=3.0, mask_types=('channel',)))
default_hooks = dict(
    student_checkpoint=dict(type='StudentCheckpointHook'),
    acam_kd_masks=dict(type='ACAMKDMaskLoggerHook'))
