# NKD on GFL's classification logits (quality focal loss head), R101 -> R50, COCO 2x (multi-scale).
# Per FPN level, the positives of GFL's ATSS assignment are the rows (target = GT class); negatives
# (label 80) are skipped, as for RetinaNet (configs/nkd/README.md). loss_weight 1, the official value, as for
# RetinaNet; not measured for GFL (RetinaNet's tiny-suite value: --cfg-options model.distiller.loss.loss_weight=0.1).
_base_ = ['mmdet::gfl/gfl_r50_fpn_ms-2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/gfl/gfl_r101_fpn_mstrain_2x_coco/gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth'  # noqa: E501
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='tensor',
    distiller=dict(type='DenseHeadLogitDistiller', head='GFLHead', num_levels=5, name='loss_nkd',
                   loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=1.0)))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
