# PS-KD (teacher-free) on Faster R-CNN-R50-FPN, COCO, 1x (12 epochs). The RoI head's softmax CE over
# 80 + 1 classes becomes PSKDLoss; the snapshot (the student at the end of the previous epoch) is run
# on the student's own sampled RoIs (snapshot_source='roi_head'); alpha_t = 0.8 * (t + 1) / 12. The RPN
# keeps its sigmoid CE.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

model = dict(roi_head=dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='mmrazor.PSKDLoss', loss_weight=1.0, snapshot_source='roi_head'))))
default_hooks = dict(
    pskd=dict(type='PSKDHook', alpha_T=0.8, mode='snapshot'))
