# ACAM-KD (Lan & Tian, ICCV 2025) on Cityscapes: DeepLabV3-R101-D8 (mmseg 80k, 80.2 mIoU) teaches
# DeepLabV3-R18-D8 (mmseg 80k, 76.7). Paper: 72.96 -> 77.53 in the CIRKD codebase (README.md).
# Logit distillation at 1/8 resolution (19 channels, M = 19 masks, as many as classes). The schedule is the
# student config's (mmseg, 80k iterations, 8 images per step), not the paper's CIRKD recipe (E8).
_base_ = ['mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

teacher_cfg = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py'
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'  # noqa: E501

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ACAMKDDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='tensor',  # the teacher's logits, no loss
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
