# HARD-affine settings on the tiny COCO suite (3 seeds each): the augmentor's centre learned or fixed at the
# identity (the default), the spread of the initial distribution and the augmentor's learning rate.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/hard_tuning_tiny_coco.py --jobs 2`
_base_ = ['./hard_tiny_coco.py']
hard = 'tools/benchmarks/suites/tiny_coco/hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
variants = dict(
    hard_learned_centre=dict(config=hard, label='HARD-affine + ACAM-KD, centre learned',
                             options=['model.augmentor.learn_mean=True']),
    hard_std05=dict(config=hard, label='HARD-affine + ACAM-KD, centre learned, init_std 0.5',
                    options=['model.augmentor.learn_mean=True', 'model.augmentor.init_std=0.5']),
    hard_std05_lr05=dict(config=hard, label='HARD-affine + ACAM-KD, centre learned, init_std 0.5, augmentor lr 0.05',
                         options=['model.augmentor.learn_mean=True', 'model.augmentor.init_std=0.5',
                                  'model.augmentor_optimizer.lr=0.05']),
)
