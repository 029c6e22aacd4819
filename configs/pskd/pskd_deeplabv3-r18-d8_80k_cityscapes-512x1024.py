# PS-KD (teacher-free) on DeepLabV3-R18-d8, Cityscapes 512x1024, 80k iterations (4 GPUs x 2 images).
# The decode head's CE becomes PSKDLoss (per-pixel soft targets at label resolution, ignore 255); a
# frozen snapshot of the student, refreshed after every pass over the data (ceil(2975 / 8) = 372
# iterations), softens them with alpha_i = 0.8 * (i + 1) / 80000. The auxiliary head keeps its CE.
_base_ = ['mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(decode_head=dict(loss_decode=dict(_delete_=True, type='mmrazor.PSKDLoss', loss_weight=1.0)))
# alpha_T 0.8: the official value (PS-KD-Pytorch; published for classification, no dense value exists).
# The tiny Cityscapes suite (24 generated 128x256 scenes, DeepLabV3-R18 at 1/4 width, 400 iterations, seeds
# 0-2; not Cityscapes) measured 0.8 34.10 +- 0.55 mIoU, 0.3 34.86 +- 0.08, 0.1 35.11 +- 0.20 against the
# student's 35.22 +- 0.30: none gained, 0.8 lost 1.1 (configs/pskd/README.md, docs/benchmarks.md). Its
# least harmful value: --cfg-options default_hooks.pskd.alpha_T=0.1
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.8, mode='snapshot'))
