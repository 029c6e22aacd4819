# PS-KD (teacher-free) on GFL-R50-FPN, COCO, 1x. GFL's Quality Focal Loss becomes its PS-KD form
# (PSKDQualityFocalLoss: per-class targets (1 - alpha) * score * onehot + alpha * sigmoid(snapshot));
# the snapshot is the student at the end of the previous epoch, one level per loss call. alpha_T 0.8, the
# official value (not measured for GFL; RetinaNet's tiny-suite best, 0.2, is one option away:
# --cfg-options default_hooks.pskd.alpha_T=0.2).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='mmrazor.PSKDQualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0)))
default_hooks = dict(pskd=dict(type='PSKDHook', alpha_T=0.8, mode='snapshot'))
