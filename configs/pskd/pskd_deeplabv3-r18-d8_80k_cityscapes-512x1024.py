# PS-KD (teacher-free) on DeepLabV3-R18-d8, Cityscapes 512x1024, 80k iterations (4 GPUs x 2 images).
# The decode head's CE becomes PSKDLoss (per-pixel soft targets at label resolution, ignore 255); a
# frozen snapshot of the student, refreshed after every pass over the data (ceil(2975 / 8) = 372
# iterations), softens them with alpha_i = 0.1 * (i + 1) / 80000. The auxiliary head keeps its CE.
_base_ = ['mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

model = dict(decode_head=dict(loss_decode=dict(_delete_=True, type='mmrazor.PSKDLoss', loss_weight=1.0)))
# alpha_T 0.1: the best of 0.8 / 0.3 / 0.1 on the tiny Cityscapes suite, where none gained (README).
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.1, mode='snapshot'))
