# ACAM-KD on the 19-class logits of the tiny Cityscapes suite: the notes' reading against the readings
# that won on the tiny COCO suite (standardised logits, mask-weighted mean, mass 10, min-max masks), then
# (round 2) the same on raw logits and on logits standardised per pixel over the classes, then (round 3)
# the masks weighing divergences instead of squared errors (distance='kl': CWD's per-class spatial KL
# under the channel masks, the per-pixel class KL under the spatial masks).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation_tiny_cityscapes.py --jobs 2`
_base_ = ['./tiny_cityscapes.py']
acam = ('tools/benchmarks/suites/tiny_cityscapes/'
        'acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py')
paper = ['model.acam.mask_learning=joint', 'model.acam.normalize=mask_sum', 'model.acam.detach_student=True',
         'model.acam.feature_norm=None', 'model.acam.mass_weight=0.0', 'model.acam.loss_weight=1.0']
combo = ['model.acam.feature_norm=channel', 'model.acam.normalize=mask_mean', 'model.acam.mass_weight=10.0',
         'model.acam.mass_target=0.5', 'model.acam.mask_learning=minmax']
kl = paper + combo[1:] + ['model.acam.distance=kl', 'model.acam.tau=1.0']
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',
             label='MMRazor CWD, logits', peer=True),
    paper=dict(config=acam, label="the notes' reading (joint, mask-sum, raw logits)", options=paper),
    combo_w1=dict(config=acam, label='standardised, mean, mass 10, min-max; loss_weight 1',
                  options=paper + combo),
    combo_w2=dict(config=acam, label='... loss_weight 2', options=paper + combo + ['model.acam.loss_weight=2.0']),
    raw_mean_mass_minmax_w1=dict(config=acam, label='raw logits, mean, mass 10, min-max, loss_weight 1',
                                 options=paper + combo[1:]),
    raw_mean_mass_minmax_w2=dict(config=acam, label='raw logits, mean, mass 10, min-max, loss_weight 2',
                                 options=paper + combo[1:] + ['model.acam.loss_weight=2.0']),
    pixel_w1=dict(config=acam, label='per-pixel standardised logits, mean, mass 10, min-max; loss_weight 1',
                  options=paper + combo + ['model.acam.feature_norm=pixel']),
    pixel_w5=dict(config=acam, label='... loss_weight 5',
                  options=paper + combo + ['model.acam.feature_norm=pixel', 'model.acam.loss_weight=5.0']),
    kl_w1=dict(config=acam, label='KL on raw logits, mean, mass 10, min-max; loss_weight 1', options=kl),
    kl_w3=dict(config=acam, label='... loss_weight 3 (CWD\'s)', options=kl + ['model.acam.loss_weight=3.0']),
    kl_joint_w3=dict(config=acam, label='KL, joint masks (no min-max), mean, mass 10; loss_weight 3',
                     options=kl + ['model.acam.mask_learning=joint', 'model.acam.loss_weight=3.0']),
    kl_channel_w3=dict(config=acam, label='KL, channel masks only (masked CWD); loss_weight 3',
                       options=kl + ['model.acam.loss_weight=3.0', "model.acam.mask_types=['channel']"]),
    kl_spatial_w3=dict(config=acam, label='KL, spatial masks only (masked pixel KD); loss_weight 3',
                       options=kl + ['model.acam.loss_weight=3.0', "model.acam.mask_types=['spatial']"]),
)
