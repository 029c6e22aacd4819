# ACAM-KD on the tiny Cityscapes suite's logits, round 4 (3 seeds each): around the shipped default (KL under
# the channel masks, tau 1, weight 3), the temperature (CWD's paper uses 4 for segmentation, MMRazor's config 1)
# and per-class channel units (channel_mask='elementwise': one unit per class and mask instead of one slope
# per mask, so a mask can pick classes rather than rescale v).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/acam_kd_ablation2_tiny_cityscapes.py --jobs 2`
_base_ = ['./tiny_cityscapes.py']
acam = ('tools/benchmarks/suites/tiny_cityscapes/'
        'acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py')
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',
             label='MMRazor CWD, logits', peer=True),
    acam_kd=dict(config=acam, label='ACAM-KD default: KL, channel masks, tau 1, weight 3'),
    tau2=dict(config=acam, label='... tau 2', options=['model.acam.tau=2.0']),
    tau4=dict(config=acam, label='... tau 4', options=['model.acam.tau=4.0']),
    elementwise=dict(config=acam, label='... per-class channel units (elementwise)',
                     options=['model.acam.channel_mask=elementwise']),
)
