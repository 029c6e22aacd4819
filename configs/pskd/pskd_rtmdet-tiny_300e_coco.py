# PS-KD (teacher-free) on RTMDet-tiny, COCO, 300 epochs, with RTMDet's own recipe (EMAHook, the
# pipeline switch) inherited: PSKDHook goes in default_hooks. Quality Focal Loss becomes
# PSKDQualityFocalLoss (targets (1 - alpha) * assign_metric * onehot + alpha * sigmoid(snapshot)); the
# snapshot is the (raw, not EMA) student at the end of the previous epoch. alpha_T 0.8, the official value
# (not measured for RTMDet; RetinaNet's tiny-suite best, 0.2: --cfg-options default_hooks.pskd.alpha_T=0.2).
_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='mmrazor.PSKDQualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0)))
default_hooks = dict(pskd=dict(type='PSKDHook', alpha_T=0.8, mode='snapshot'))
