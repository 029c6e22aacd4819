# NKD on FCOS's classification logits, R101 -> R50 (caffe, GN head, multi-scale 640-800, 2x). FCOS
# computes its classification loss over all levels in one call, so the rows are the positive points of
# every level at once (one loss, num_levels=1), and the teacher runs its own loss forward
# (teacher_forward='loss') to give its logits in the same flattened order.
# NKD in the head's own probability model (NKDLoss(probability='sigmoid', negatives='teacher_mass'),
# mmkd_plugin/models/losses/nkd_sigmoid.py): per-class sigmoids, NKD's target term on the positive's class, its
# non-target term over the other classes' normalised sigmoids, negatives (label 80) weighted by the teacher's
# object mass. The paper's softmax over the 80 sigmoid logits, positives only (this config's form before issue 22):
# --cfg-options model.distiller.loss.probability=softmax model.distiller.loss.negatives=skip
# loss_weight 1, the official value: NKD averages over all the positives of
# the batch, as RetinaNet's five per-level terms (each divided by the positives of every level) add up to; not
# measured for FCOS (RetinaNet's tiny-suite value: --cfg-options model.distiller.loss.loss_weight=0.1).
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/fcos/fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco/fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco-511424d6.pth'  # noqa: E501
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='loss',
    distiller=dict(type='DenseHeadLogitDistiller', head='FCOSHead', num_levels=1, name='loss_nkd',
                   loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=1.0,
                             probability='sigmoid', negatives='teacher_mass')))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
