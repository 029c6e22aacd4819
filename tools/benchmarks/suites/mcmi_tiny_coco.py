# MCMI on the tiny COCO suite: ACAM-KD from the plain teacher, from the teacher fine-tuned 2 more epochs on
# its task loss alone (lambda = 0: the control for the extra training) and from the MCMI teacher
# (lambda = 0.15). `python tools/benchmarks/accuracy.py tools/benchmarks/suites/mcmi_tiny_coco.py --jobs 2`
_base_ = ['./tiny_coco.py']
acam = 'configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
mcmi = 'tools/benchmarks/suites/tiny_coco/mcmi_retinanet-r18_synthetic-coco.py'
variants = dict(
    _delete_=True,
    acam_kd=dict(config=acam, label='ACAM-KD, FPN (plain teacher)'),
    acam_kd_ft=dict(config=acam, label='ACAM-KD, teacher fine-tuned with lambda = 0 (control)',
                    teacher_stage=dict(name='ft', config=mcmi,
                                       options=['model.distiller.distill_losses.loss_mcmi.loss_weight=0.0'])),
    acam_kd_mcmi=dict(config=acam, label='ACAM-KD, MCMI teacher (lambda = 0.15)',
                      teacher_stage=dict(name='mcmi', config=mcmi)),
)
