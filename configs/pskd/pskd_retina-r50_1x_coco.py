# PS-KD (teacher-free) on RetinaNet-R50-FPN, COCO, 1x (12 epochs). The focal loss becomes its
# soft-target form (PSKDFocalLoss; per-class targets (1 - alpha) * onehot + alpha * sigmoid(snapshot));
# the snapshot is the student at the end of the previous epoch; alpha_t = 0.2 * (t + 1) / 12 (the paper's
# 0.8 is for softmax classifiers; 0.2 was the best of 0.8/0.4/0.2 on the tiny COCO suite, none gained: README).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)

model = dict(bbox_head=dict(loss_cls=dict(type='mmrazor.PSKDFocalLoss')))
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.2, mode='snapshot'))
