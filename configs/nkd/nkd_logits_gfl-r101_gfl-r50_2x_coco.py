# NKD on GFL's classification logits (quality focal loss head), R101 -> R50, COCO 2x (multi-scale).
# Per FPN level, the anchors of GFL's ATSS assignment are the rows (target = GT class).
# NKD in the head's own probability model (NKDLoss(probability='sigmoid', negatives='teacher_mass'),
# mmkd_plugin/models/losses/nkd_sigmoid.py): per-class sigmoids, NKD's target term on the positive's class, its
# non-target term over the other classes' normalised sigmoids, negatives (label 80) weighted by the teacher's
# object mass. The paper's softmax over the 80 sigmoid logits, positives only (this config's form before issue 22):
# --cfg-options model.distiller.loss.probability=softmax model.distiller.loss.negatives=skip
# loss_weight 1, the official value, as for
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
                   loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=1.0,
                             probability='sigmoid', negatives='teacher_mass')))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
