# ACAM-KD ablation, second round, on the tiny COCO suite: combinations of the readings that helped in
# the first round (acam_kd_ablation_tiny_coco.py): level weights decaying with stride, standardised
# features, a mask-mass term strong enough to hold the masks (weight 10), the scale-free mask-weighted
# mean, min-max masks.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation2_tiny_coco.py --jobs 2`
_base_ = ['./acam_kd_ablation_tiny_coco.py']
lw = ['model.acam.level_weights=[1.0,0.5,0.25,0.125,0.0625]']
std = ['model.acam.feature_norm=channel']
mass = ['model.acam.mass_weight=10.0', 'model.acam.mass_target=0.5']
mean = ['model.acam.normalize=mask_mean']
minmax = ['model.acam.mask_learning=minmax']
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    lw_sharp=dict(config=_base_.acam, label='level weights 1, 1/4, ..., 1/256',
                  options=_base_.paper + ['model.acam.level_weights=[1.0,0.25,0.0625,0.015625,0.00390625]']),
    lw_inherit=dict(config=_base_.acam, label='level weights, P3-P5 output convs inherited (fixed: round 1 lost them)',
                    options=_base_.paper + lw
                    + ['model.inherit_from_teacher=[neck.fpn_convs.0,neck.fpn_convs.1,neck.fpn_convs.2]']),
    lw_std=dict(config=_base_.acam, label='level weights, standardised', options=_base_.paper + lw + std),
    lw_mass=dict(config=_base_.acam, label='level weights, mass 10', options=_base_.paper + lw + mass),
    lw_mean_mass=dict(config=_base_.acam, label='level weights, mask-weighted mean, mass 10',
                      options=_base_.paper + lw + mean + mass),
    lw_mean_mass_minmax=dict(config=_base_.acam, label='level weights, mean, mass 10, min-max',
                             options=_base_.paper + lw + mean + mass + minmax),
    std_mean_mass_minmax=dict(config=_base_.acam, label='standardised, mean, mass 10, min-max',
                              options=_base_.paper + std + mean + mass + minmax),
    lw_std_mean_mass_minmax=dict(config=_base_.acam, label='level weights, standardised, mean, mass 10, min-max',
                                 options=_base_.paper + lw + std + mean + mass + minmax),
    lw_std_mean_mass_minmax_w2=dict(config=_base_.acam, label='... and loss_weight 2',
                                    options=_base_.paper + lw + std + mean + mass + minmax
                                    + ['model.acam.loss_weight=2.0']),
    lw_std_mean_mass_minmax_init=dict(config=_base_.acam, label='... and selection units from N(0, 0.1^2)',
                                      options=_base_.paper + lw + std + mean + mass + minmax
                                      + ['model.acam.init_std=0.1']),
)
