# MCMI (Ye et al., ICLR 2024): fine-tune the DeepLabV3-R101-D8 Cityscapes teacher (mmseg 80k, 80.2 mIoU) on
# CE - lambda * CMI for 8k iterations (the paper fine-tunes 20 epochs after 240: 1/12 of the schedule; 8k of
# 80k here). The centroids: 19 x 19, one pass over the training set, valid pixels of the 1/8 logits, before
# fine-tuning (MCMICentroidHook). The export `iter_8000_student.pth` is the new teacher_ckpt of any
# DeepLabV3-R101 distillation config (configs/acam_kd, configs/nkd, ...). README.md says which details are the
# paper's and which ours.
_base_ = ['mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py', '../_base_/methods/mcmi.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'  # noqa: E501
fine_tune_iters = 8000

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='MCMIFineTune',
    architecture=_base_.model,
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.mcmi_seg_distiller)

# The official recipe: the pre-training's initial learning rate, cosine-annealed to 0 over the fine-tuning.
train_cfg = dict(max_iters=fine_tune_iters, val_interval=fine_tune_iters)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=fine_tune_iters, eta_min=0, by_epoch=False, begin=0,
                        end=fine_tune_iters)]
default_hooks = dict(
    checkpoint=dict(interval=fine_tune_iters),
    mcmi_centroids=dict(type='MCMICentroidHook'),
    student_checkpoint=dict(type='StudentCheckpointHook'))
