# A short schedule for the generated data on CPU: AdamW, linear warm-up, one step decay.
# Milestones are absolute epochs, so a run stopped early and resumed with more epochs is exact.
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[16], gamma=0.1),
]
randomness = dict(seed=0)
# The plugin's Runner (mmkd_plugin/engine/runner): the generators reseeded at every epoch, so a resume is exact;
# the demo's and the benchmarks' students trained alone draw their random numbers as the distilled ones do.
custom_imports = dict(imports=['mmkd_plugin'], allow_failed_imports=False)
runner_type = 'DistillRunner'
