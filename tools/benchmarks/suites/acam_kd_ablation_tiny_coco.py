# ACAM-KD ablation on the tiny COCO suite: one reading changed at a time from the literal reading of the
# paper's notes (joint masks, MasKD's mask-sum normalisation, detached student K/V, raw features, equal
# level weights, weight decay on every parameter, no inheritance, loss_weight 1).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
acam = 'configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
paper = ['model.acam.mask_learning=joint', 'model.acam.normalize=mask_sum', 'model.acam.detach_student=True',
         'model.acam.feature_norm=None', 'model.acam.mass_weight=0.0', 'model.acam.loss_weight=1.0',
         'model.acam.level_weights=None', 'model.inherit_from_teacher=[]']
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    paper=dict(config=acam, label="the notes' reading: joint, mask-sum, detached K/V, raw features",
               options=paper),
    norm_hw=dict(config=acam, label='normalised by HW only', options=paper + ['model.acam.normalize=hw']),
    norm_mean=dict(config=acam, label='mask-weighted mean',
                   options=paper + ['model.acam.normalize=mask_mean']),
    attached=dict(config=acam, label='student K/V attached',
                  options=paper + ['model.acam.detach_student=False']),
    mass=dict(config=acam, label='mask-mass term (weight 1, target 0.5)',
              options=paper + ['model.acam.mass_weight=1.0', 'model.acam.mass_target=0.5']),
    std_feat=dict(config=acam, label='features standardised per channel (PKD)',
                  options=paper + ['model.acam.feature_norm=channel']),
    level_w=dict(config=acam, label='level weights 1, 1/2, 1/4, 1/8, 1/16',
                 options=paper + ['model.acam.level_weights=[1.0,0.5,0.25,0.125,0.0625]']),
    no_decay=dict(config='tools/benchmarks/suites/tiny_coco/'
                  'acam-kd_no-unit-decay_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
                  label='no weight decay on the selection units', options=paper),
    inherit=dict(config=acam, label='FPN output convs of P3-P5 inherited from the teacher',
                 options=paper + ['model.inherit_from_teacher=[neck.fpn_convs.0,neck.fpn_convs.1,neck.fpn_convs.2]']),
    lw2=dict(config=acam, label='loss_weight 2', options=paper + ['model.acam.loss_weight=2.0']),
    lw5=dict(config=acam, label='loss_weight 5', options=paper + ['model.acam.loss_weight=5.0']),
    online=dict(config=acam, label='online masks (teacher task loss, MasKD)',
                options=paper + ['model.acam.mask_learning=online']),
    minmax=dict(config=acam, label='min-max masks (ours)', options=paper + ['model.acam.mask_learning=minmax']),
    # Combinations of the readings that keep the masks alive (scale-free normalisation, mass term) with
    # level balance (standardised features) and the mask objective (joint / min-max).
    std_mean_mass=dict(config=acam, label='standardised, mask-weighted mean, mass term',
                       options=paper + ['model.acam.feature_norm=channel', 'model.acam.normalize=mask_mean',
                                        'model.acam.mass_weight=1.0']),
    std_mean_mass_minmax=dict(config=acam, label='standardised, mask-weighted mean, mass term, min-max',
                              options=paper + ['model.acam.feature_norm=channel',
                                               'model.acam.normalize=mask_mean', 'model.acam.mass_weight=1.0',
                                               'model.acam.mask_learning=minmax']),
    mean_mass_minmax=dict(config=acam, label='mask-weighted mean, mass term, min-max (raw features)',
                          options=paper + ['model.acam.normalize=mask_mean', 'model.acam.mass_weight=1.0',
                                           'model.acam.mask_learning=minmax']),
)
