# PS-KD (teacher-free) on the tiny COCO suite's student: soft-target focal loss, the snapshot of the
# student at the end of each epoch as the target's teacher (configs/pskd/pskd_retina-r50_1x_coco.py);
# alpha_T 0.2 (tools/benchmarks/suites/tuning_tiny_coco.py).
_base_ = ['../../../../configs/demo/retinanet_r18-w16_synthetic-coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(bbox_head=dict(loss_cls=dict(type='mmrazor.PSKDFocalLoss')))
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.2, mode='snapshot'))
