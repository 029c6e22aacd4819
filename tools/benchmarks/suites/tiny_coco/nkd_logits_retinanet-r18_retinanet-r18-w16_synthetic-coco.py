# NKD on RetinaNet's classification logits for the tiny COCO suite (same mapping as
# configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py): per FPN level the positive anchors are the
# rows, softmax over the 3 class logits, target = the GT class; negatives are skipped. loss_weight 0.1:
# weight 1 lost 0.07 mAP on this suite, 0.3 and 0.1 lost 0.03 (tools/benchmarks/suites/tuning_tiny_coco.py).
_base_ = ['../../../../configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py']
model = dict(
    teacher_forward='tensor',
    distiller=dict(_delete_=True, type='DenseHeadLogitDistiller', head='RetinaHead', num_levels=5, name='loss_nkd',
                   loss=dict(type='NKDLoss', temp=1.0, gamma=1.5, loss_weight=0.1)))
