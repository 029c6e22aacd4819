# NKD on RTMDet's classification logits, RTMDet-s -> RTMDet-tiny, COCO 300 epochs. Per level (3), the
# points of the dynamic soft-label assignment are the rows (target = GT class).
# NKD in the head's own probability model (NKDLoss(probability='sigmoid', negatives='teacher_mass'),
# mmkd_plugin/models/losses/nkd_sigmoid.py): per-class sigmoids, NKD's target term on the positive's class, its
# non-target term over the other classes' normalised sigmoids, negatives (label 80) weighted by the teacher's
# object mass. The paper's softmax over the 80 sigmoid logits, positives only (this config's form before issue 22):
# --cfg-options model.distiller.loss.probability=softmax model.distiller.loss.negatives=skip
# The student keeps its own recipe: EMAHook and PipelineSwitchHook act on the student
# (StudentViewHook), and its AdamW paramwise settings apply to the student alone. loss_weight 1 per level,
# the official value; not measured for RTMDet (RetinaNet's tiny-suite value:
# --cfg-options model.distiller.loss.loss_weight=0.1). RTMDet's per-level loss has no avg_factor, so each
# level averages over its own positives and the three terms add up (RetinaNet's divide by the positives of
# all levels): up to 3x RetinaNet's effective weight.
_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py']
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'  # mmkd_plugin's Runner (README: Writing a distillation config)

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_s_8xb32-300e_coco/rtmdet_s_8xb32-300e_coco_20220905_161602-387a891e.pth'  # noqa: E501
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='TeacherDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'),
    teacher_ckpt=teacher_ckpt,
    teacher_forward='tensor',
    # RTMDetSepBNHead: one rtm_cls conv per level (bbox_head.rtm_cls.0 .. .2)
    distiller=dict(type='DenseHeadLogitDistiller', head='RTMDetSepBNHead', num_levels=3, name='loss_nkd',
                   loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=1.0,
                             probability='sigmoid', negatives='teacher_mass')))
default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))
