# PS-KD's snapshot run in eval mode (the plugin's first reading) or in train mode (BN on the batch's statistics,
# as the official code's past predictions were made), tiny COCO, 3 seeds (configs/pskd/README.md).
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/pskd_snapshot_mode_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
pskd = 'tools/benchmarks/suites/tiny_coco/pskd_retinanet-r18-w16_synthetic-coco.py'
variants = dict(
    _delete_=True,
    pskd_eval=dict(config=pskd, label='PS-KD, alpha_T 0.2, snapshot in eval mode',
                   options=['default_hooks.pskd.snapshot_mode=eval']),
    pskd_train=dict(config=pskd, label='PS-KD, alpha_T 0.2, snapshot in train mode (batch statistics)',
                    options=['default_hooks.pskd.snapshot_mode=train']),
)
