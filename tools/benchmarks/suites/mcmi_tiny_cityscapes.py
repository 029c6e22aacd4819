# MCMI on the tiny Cityscapes suite: ACAM-KD from the plain teacher, from the teacher fine-tuned 60 more
# iterations on CE alone (lambda = 0: the control for the extra training) and from the MCMI teacher
# (lambda = 0.15). `python tools/benchmarks/accuracy.py tools/benchmarks/suites/mcmi_tiny_cityscapes.py --jobs 2`
_base_ = ['./tiny_cityscapes.py']
acam = 'tools/benchmarks/suites/tiny_cityscapes/acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py'
mcmi = 'tools/benchmarks/suites/tiny_cityscapes/mcmi_deeplabv3-r18_synthetic-cityscapes.py'
variants = dict(
    _delete_=True,
    acam_kd=dict(config=acam, label='ACAM-KD, logits (plain teacher)'),
    acam_kd_ft=dict(config=acam, label='ACAM-KD, teacher fine-tuned with lambda = 0 (control)',
                    teacher_stage=dict(name='ft', config=mcmi,
                                       options=['model.distiller.distill_losses.loss_mcmi.loss_weight=0.0'])),
    acam_kd_mcmi=dict(config=acam, label='ACAM-KD, MCMI teacher (lambda = 0.15)',
                      teacher_stage=dict(name='mcmi', config=mcmi)),
)
