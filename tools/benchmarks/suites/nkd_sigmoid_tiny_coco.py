# NKD on RetinaNet's sigmoid classifier (issue 22, item 2): the paper's softmax over the sigmoid logits against
# the head's own per-class Bernoulli form (NKDLoss(probability='sigmoid'), mmkd_plugin/models/losses/nkd_sigmoid.py),
# negatives skipped or weighted by the teacher's object probability, at the official loss weight 1 and at 0.1.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/nkd_sigmoid_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
nkd = 'tools/benchmarks/suites/tiny_coco/nkd_logits_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
softmax = ['model.distiller.loss.probability=softmax', 'model.distiller.loss.negatives=skip']
sigmoid = ['model.distiller.loss.probability=sigmoid', 'model.distiller.loss.negatives=skip']
sigmoid_neg = ['model.distiller.loss.probability=sigmoid', 'model.distiller.loss.negatives=teacher_mass']
variants = dict(
    _delete_=True,
    cwd=dict(config='configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
             label='MMRazor CWD, FPN', peer=True),
    softmax_w01=dict(config=nkd, label='NKD, softmax over the sigmoid logits, weight 0.1',
                     options=softmax + ['model.distiller.loss.loss_weight=0.1']),
    sigmoid_w1=dict(config=nkd, label='NKD, Bernoulli, positives, weight 1',
                    options=sigmoid + ['model.distiller.loss.loss_weight=1.0']),
    sigmoid_w01=dict(config=nkd, label='NKD, Bernoulli, positives, weight 0.1',
                     options=sigmoid + ['model.distiller.loss.loss_weight=0.1']),
    sigmoid_neg_w1=dict(config=nkd, label='NKD, Bernoulli, negatives by teacher mass, weight 1',
                        options=sigmoid_neg + ['model.distiller.loss.loss_weight=1.0']),
    sigmoid_neg_w01=dict(config=nkd, label='NKD, Bernoulli, negatives by teacher mass, weight 0.1',
                         options=sigmoid_neg + ['model.distiller.loss.loss_weight=0.1']),
    # second round, around the best of the first: the weight, and which of NKD's two terms moves mAP
    sigmoid_neg_w03=dict(config=nkd, label='NKD, Bernoulli, negatives by teacher mass, weight 0.3',
                         options=sigmoid_neg + ['model.distiller.loss.loss_weight=0.3']),
    sigmoid_neg_w003=dict(config=nkd, label='NKD, Bernoulli, negatives by teacher mass, weight 0.03',
                          options=sigmoid_neg + ['model.distiller.loss.loss_weight=0.03']),
    sigmoid_target_only=dict(config=nkd, label='NKD, Bernoulli, target term only (gamma 0), weight 0.1',
                             options=sigmoid_neg + ['model.distiller.loss.loss_weight=0.1',
                                                    'model.distiller.loss.gamma=0.0']),
    sigmoid_neg_nt=dict(config=nkd, label='NKD, Bernoulli, negatives, target term / 10 (weight 0.01, gamma 15)',
                        options=sigmoid_neg + ['model.distiller.loss.loss_weight=0.01',
                                               'model.distiller.loss.gamma=15.0']),
)
