# Tiny two-stage COCO suite (issue 22, item 2): Faster R-CNN-R18 teacher -> quarter-width Faster R-CNN-R18 student
# on the generated COCO set, on CPU; where NKD fits as written (a softmax RoI classifier), next to MMRazor's CWD.
# `python tools/benchmarks/accuracy.py tools/benchmarks/suites/tiny_coco_two_stage.py --jobs 2`
# Format: tools/benchmarks/accuracy_suite.py.
_base_ = ['./tiny_coco.py']
teacher = dict(config='tools/benchmarks/suites/tiny_coco_two_stage/faster-rcnn_r18_synthetic-coco.py', checkpoint=None)
student = dict(config='tools/benchmarks/suites/tiny_coco_two_stage/faster-rcnn_r18-w16_synthetic-coco.py',
               label='student alone')
variants = dict(
    _delete_=True,
    cwd=dict(config='tools/benchmarks/suites/tiny_coco_two_stage/cwd_fpn_faster-rcnn-r18_faster-rcnn-r18-w16_synthetic-coco.py',  # noqa: E501
             label='MMRazor CWD, FPN', peer=True),
    nkd=dict(config='tools/benchmarks/suites/tiny_coco_two_stage/nkd_roi-logits_faster-rcnn-r18_faster-rcnn-r18-w16_synthetic-coco.py',  # noqa: E501
             label='NKD, RoI logits (softmax, official values)'),
)
