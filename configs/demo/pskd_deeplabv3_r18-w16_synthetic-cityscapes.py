# Demo: PS-KD on the quarter-width DeepLabV3-R18 student, generated Cityscapes data, 600 iterations on
# CPU. PSKDLoss replaces the decode head's CE; the snapshot is refreshed every 100 iterations (the
# demo set is one batch per pass, so the default of one pass would snapshot every iteration). alpha_T 0.1:
# the paper's 0.8 lost about 1.1 mIoU on the tiny Cityscapes suite, 0.3 lost 0.4, 0.1 lost least
# (configs/pskd/README.md, "On the tiny suites").
_base_ = ['./deeplabv3_r18-w16_synthetic-cityscapes.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(decode_head=dict(loss_decode=dict(_delete_=True, type='mmrazor.PSKDLoss', loss_weight=1.0)))
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.1, mode='snapshot', snapshot_interval=100))
