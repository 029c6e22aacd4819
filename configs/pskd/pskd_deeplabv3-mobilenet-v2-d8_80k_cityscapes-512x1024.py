# PS-KD (teacher-free) on DeepLabV3-MobileNetV2-d8, Cityscapes 512x1024, 80k iterations (4 GPUs x 2).
# Same recipe as pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py: PSKDLoss in the decode head, a
# snapshot every pass over the data (372 iterations), alpha_T = 0.1; the auxiliary head keeps its CE.
_base_ = ['mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

model = dict(decode_head=dict(loss_decode=dict(_delete_=True, type='mmrazor.PSKDLoss', loss_weight=1.0)))
# alpha_T 0.1: the best of 0.8 / 0.3 / 0.1 on the tiny Cityscapes suite, where none gained (README).
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.1, mode='snapshot'))
