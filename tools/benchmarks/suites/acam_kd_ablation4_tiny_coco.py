# ACAM-KD ablation, fourth round, on the tiny COCO suite: the masks weighing divergences on the FPN features
# (distance='kl', the Cityscapes default), i.e. CWD's per-channel spatial KL under ACAM-KD's channel masks, with
# CWD's tau 1 and weight 2 on raw features; equal level weights as CWD's config, or the default's decaying ones;
# and with the spatial masks' per-position KL added.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation4_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
acam = 'configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
kl = ['model.acam.distance=kl', 'model.acam.tau=1.0', 'model.acam.feature_norm=None', 'model.acam.loss_weight=2.0']
channel = kl + ["model.acam.mask_types=['channel']"]
equal = ['model.acam.level_weights=[1.0,1.0,1.0,1.0,1.0]']
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    kl_channel_equal=dict(config=acam, label='KL under the channel masks (masked CWD), equal level weights',
                          options=channel + equal),
    kl_channel=dict(config=acam, label='KL under the channel masks, level weights 1 ... 1/16', options=channel),
    kl_both_equal=dict(config=acam, label='KL under channel and spatial masks, equal level weights',
                       options=kl + equal),
)
