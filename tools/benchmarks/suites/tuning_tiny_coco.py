# Defaults of NKD and PS-KD on the tiny COCO suite (their first readings lost mAP there): NKD's loss
# weight on RetinaNet's positive anchors (the paper's softmax form, the tiny suite's form until issue 22; the
# Bernoulli form's weights: nkd_sigmoid_tiny_coco.py), PS-KD's final alpha for a dense sigmoid head.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/tuning_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
nkd = 'tools/benchmarks/suites/tiny_coco/nkd_logits_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
softmax = ['model.distiller.loss.probability=softmax', 'model.distiller.loss.negatives=skip']
pskd = 'tools/benchmarks/suites/tiny_coco/pskd_retinanet-r18-w16_synthetic-coco.py'
variants = dict(
    _delete_=True,
    nkd_w1=dict(config=nkd, label='NKD, loss weight 1 (first reading)',
                options=softmax + ['model.distiller.loss.loss_weight=1.0']),
    nkd_w03=dict(config=nkd, label='NKD, loss weight 0.3',
                 options=softmax + ['model.distiller.loss.loss_weight=0.3']),
    nkd_w01=dict(config=nkd, label='NKD, loss weight 0.1',
                 options=softmax + ['model.distiller.loss.loss_weight=0.1']),
    pskd_a08=dict(config=pskd, label='PS-KD, alpha_T 0.8 (the paper\'s)', options=['default_hooks.pskd.alpha_T=0.8']),
    pskd_a04=dict(config=pskd, label='PS-KD, alpha_T 0.4', options=['default_hooks.pskd.alpha_T=0.4']),
    pskd_a02=dict(config=pskd, label='PS-KD, alpha_T 0.2', options=['default_hooks.pskd.alpha_T=0.2']),
)
