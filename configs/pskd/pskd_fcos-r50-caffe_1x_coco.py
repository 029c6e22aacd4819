# PS-KD (teacher-free) on FCOS-R50-caffe (GN head), COCO, 1x. The focal loss becomes PSKDFocalLoss;
# FCOS calls it once over every level flattened, and the loss takes the snapshot's per-level maps
# flattened in the same order (flatten_levels=True). alpha_T 0.8, the official value (not measured for FCOS;
# RetinaNet's tiny-suite best, 0.2, is one option away: --cfg-options default_hooks.pskd.alpha_T=0.2).
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='mmrazor.PSKDFocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0,
    flatten_levels=True)))
default_hooks = dict(pskd=dict(type='PSKDHook', alpha_T=0.8, mode='snapshot'))
