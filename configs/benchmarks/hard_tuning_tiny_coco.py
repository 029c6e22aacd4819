# HARD-affine settings on the tiny COCO suite (3 seeds each): the spread of the initial distribution and the
# augmentor's learning rate. `python tools/benchmarks/accuracy.py configs/benchmarks/hard_tuning_tiny_coco.py --jobs 2`
_base_ = ['./hard_tiny_coco.py']
hard = 'configs/benchmarks/tiny_coco/hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
variants = dict(
    hard_std05=dict(config=hard, label='HARD-affine + ACAM-KD, init_std 0.5',
                    options=['model.augmentor.init_std=0.5']),
    hard_std05_lr05=dict(config=hard, label='HARD-affine + ACAM-KD, init_std 0.5, augmentor lr 0.05',
                         options=['model.augmentor.init_std=0.5', 'model.augmentor_optimizer.lr=0.05']),
)
variants.update(
    hard_spread_only=dict(config=hard, label='HARD-affine + ACAM-KD, centre fixed at the identity (spread learned)',
                          options=['model.augmentor.learn_mean=False']))
