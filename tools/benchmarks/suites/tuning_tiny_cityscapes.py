# PS-KD's final alpha for a dense softmax head on the tiny Cityscapes suite (alpha_T = 0.8, the
# classification default, cost 9 mIoU on the generated set in the first measurement), and NKD's loss weight
# and temperature on the logits (the official weight 1 / temperature 1 did not gain), USKD's loss weight.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/tuning_tiny_cityscapes.py --jobs 2`
_base_ = ['./tiny_cityscapes.py']
pskd = 'configs/demo/pskd_deeplabv3_r18-w16_synthetic-cityscapes.py'
uskd = 'tools/benchmarks/suites/tiny_cityscapes/uskd_deeplabv3-r18-w16_synthetic-cityscapes.py'
nkd = 'tools/benchmarks/suites/tiny_cityscapes/nkd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py'
variants = dict(
    _delete_=True,
    pskd_a08=dict(config=pskd, label="PS-KD, alpha_T 0.8 (the paper's)", options=['default_hooks.pskd.alpha_T=0.8']),
    pskd_a03=dict(config=pskd, label='PS-KD, alpha_T 0.3', options=['default_hooks.pskd.alpha_T=0.3']),
    pskd_a01=dict(config=pskd, label='PS-KD, alpha_T 0.1', options=['default_hooks.pskd.alpha_T=0.1']),
    nkd_t1=dict(config=nkd, label='NKD, temperature 1, loss weight 1 (the official values)',
                options=['model.distiller.distill_losses.loss_nkd.temp=1.0']),
    nkd_w3=dict(config=nkd, label='NKD, temperature 1, loss weight 3',
                options=['model.distiller.distill_losses.loss_nkd.temp=1.0',
                         'model.distiller.distill_losses.loss_nkd.loss_weight=3.0']),
    nkd_t4=dict(config=nkd, label='NKD, temperature 4 (non-target term)',
                options=['model.distiller.distill_losses.loss_nkd.temp=4.0']),
    uskd_w1=dict(config=uskd, label='USKD, loss weight 1 (the official scale)',
                 options=['model.distiller.distill_losses.loss_uskd.loss_weight=1.0']),
    uskd_w01=dict(config=uskd, label='USKD, loss weight 0.1',
                  options=['model.distiller.distill_losses.loss_uskd.loss_weight=0.1']),
)
