# MCMI (Ye et al., ICLR 2024): fine-tune the Faster R-CNN R101 COCO teacher (mmdet 2x, 39.8 mAP) on its task loss
# - lambda * CMI for 2 epochs (1/12 of the schedule, as the paper's 20 epochs after 240). The rows: the RoIs the
# RoI head samples, softmax over its 80 + 1 classes, y = the assigned label (background included): an 81 x 81
# table from one pass over the training set (the RoIs sampled in that pass) before fine-tuning. The export
# `epoch_2_student.pth` is the new teacher_ckpt of the Faster R-CNN R101 distillation configs (configs/acam_kd,
# configs/nkd).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py', '../_base_/methods/mcmi.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'  # noqa: E501
fine_tune_epochs = 2

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='MCMIFineTune',
    architecture=_base_.model,
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.mcmi_roi_distiller)

# The official recipe's shape: the schedule's initial learning rate, cosine-annealed to 0 over the fine-tuning.
train_cfg = dict(max_epochs=fine_tune_epochs)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=fine_tune_epochs, eta_min=0, by_epoch=True, begin=0,
                        end=fine_tune_epochs, convert_to_iter_based=True)]
default_hooks = dict(
    mcmi_centroids=dict(type='MCMICentroidHook'),
    student_checkpoint=dict(type='StudentCheckpointHook'))
