# HARD-affine (Nix et al., 2023) around ACAM-KD on the FPN levels, RetinaNet R101 -> R50, COCO 2x: a learned
# distribution of bounded affine transforms, updated by its own optimizer to maximise the ACAM-KD loss while the
# teacher still detects the warped boxes; the student trains on batches in which half of the images are warped.
# Our reading of the paper (README.md): the augmentor, its objective and every value below are our choices.
_base_ = ['../acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py', '../_base_/methods/hard_affine.py']

model = _base_.hard_affine  # merged into the inherited ACAM-KD model
