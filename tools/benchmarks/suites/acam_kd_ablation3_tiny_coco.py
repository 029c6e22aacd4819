# ACAM-KD ablation, third round, on the tiny COCO suite: the loss weight of the best second-round
# combination (level weights, standardised features, mask-weighted mean, mass 10, min-max masks).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation3_tiny_coco.py --jobs 2`
_base_ = ['./acam_kd_ablation2_tiny_coco.py']
best = _base_.paper + _base_.lw + _base_.std + _base_.mean + _base_.mass + _base_.minmax
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    w2=dict(config=_base_.acam, label='loss_weight 2', options=best + ['model.acam.loss_weight=2.0']),
    w3=dict(config=_base_.acam, label='loss_weight 3', options=best + ['model.acam.loss_weight=3.0']),
    w5=dict(config=_base_.acam, label='loss_weight 5', options=best + ['model.acam.loss_weight=5.0']),
    w2_init=dict(config=_base_.acam, label='loss_weight 2, units from N(0, 0.1^2)',
                 options=best + ['model.acam.loss_weight=2.0', 'model.acam.init_std=0.1']),
    w2_sharp=dict(config=_base_.acam, label='loss_weight 2, level weights 1, 1/4, ..., 1/256',
                  options=best + ['model.acam.loss_weight=2.0',
                                  'model.acam.level_weights=[1.0,0.25,0.0625,0.015625,0.00390625]']),
)
