# MCMI (Ye et al., ICLR 2024): fine-tune the RetinaNet-R101 COCO teacher (mmdet 2x, 38.9 mAP) on
# task loss - lambda * CMI for 2 epochs (the paper: 20 epochs after 240, 1/12 of the schedule; 2 of 24 here).
# A sigmoid head has no class distribution per anchor, so (our choice, README.md) the rows are the positive
# anchors of every FPN level, P = softmax over their 80 class logits, y = the assigned GT class; negatives
# (label 80) are left out. One 80 x 80 centroid table for all levels, from one pass over the training set
# before fine-tuning (MCMICentroidHook). The export `epoch_2_student.pth` is the new teacher_ckpt of the
# RetinaNet-R101 distillation configs (configs/acam_kd, configs/nkd).
_base_ = ['mmdet::retinanet/retinanet_r101_fpn_2x_coco.py', '../_base_/methods/mcmi.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r101_fpn_2x_coco/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'  # noqa: E501
fine_tune_epochs = 2

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='MCMIFineTune',
    architecture=_base_.model,
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.mcmi_anchor_distiller)

# The official recipe: the pre-training's initial learning rate, cosine-annealed to 0 over the fine-tuning.
train_cfg = dict(max_epochs=fine_tune_epochs)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=fine_tune_epochs, eta_min=0, by_epoch=True, begin=0,
                        end=fine_tune_epochs, convert_to_iter_based=True)]
default_hooks = dict(
    mcmi_centroids=dict(type='MCMICentroidHook'),
    student_checkpoint=dict(type='StudentCheckpointHook'))
