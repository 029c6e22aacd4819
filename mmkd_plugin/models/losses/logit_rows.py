"""Turn classification, segmentation and anchor-head logits with their labels into rows.

Logit-distillation losses written for classification (one row of C logits per sample) apply per
pixel in segmentation and per anchor in detection. This module reshapes every layout into rows of C
logits with one label per row, so that a loss implements its row formula once.

Layouts (``preds`` / ``labels``):

- classification: (M, C) / (M,) integer labels, or (M, C) soft labels (mixup, cutmix);
- segmentation: (N, C, H, W) / (N, H, W) or (N, 1, H', W'); the labels are resized to (H, W) by
  nearest neighbour (mmseg stacks ``gt_sem_seg`` at the padded input size, logits are at 1/8);
- anchor head: (N, A*C, H, W) / (N, H*W*A), mmdet's ``AnchorHead.loss_by_feat_single`` layout (the
  labels of one FPN level, anchors ordered (h, w, a), as ``cls_score.permute(0, 2, 3, 1)`` gives).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_labels(labels: Tensor, size: Tuple[int, int]) -> Tensor:
    """(N, H', W') or (N, 1, H', W') labels → (N, H, W) int64 by nearest neighbour."""
    if labels.dim() == 4:
        if labels.shape[1] != 1:
            raise ValueError(f'4-D labels must be (N, 1, H, W), got {tuple(labels.shape)}; pass class '
                             'indices, not one-hot maps.')
        labels = labels[:, 0]
    if tuple(labels.shape[-2:]) != tuple(size):
        # Integers up to 2**24 are exact in fp32, so the round trip keeps every label.
        labels = F.interpolate(labels[:, None].float(), size=tuple(size), mode='nearest')[:, 0]
    return labels.long()


def logits_to_rows(preds: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
    """Reshape logits to (M, C) rows and labels to (M,) (or (M, C) if soft).

    Args:
        preds: logits in one of the layouts of the module docstring.
        labels: the matching labels.

    Returns:
        The (M, C) logits and the (M,) int64 labels, or the (M, C) soft labels unchanged.

    Raises:
        ValueError: if the shapes match none of the layouts.
    """
    if preds.dim() == 2:
        if labels.dim() == 2 and labels.shape == preds.shape and labels.is_floating_point():
            return preds, labels
        if labels.numel() != preds.shape[0]:
            raise ValueError(f'(M, C) logits {tuple(preds.shape)} need (M,) labels or (M, C) soft labels, '
                             f'got {tuple(labels.shape)}.')
        return preds, labels.reshape(-1).long()
    if preds.dim() != 4:
        raise ValueError(f'logits must be (M, C), (N, C, H, W) or (N, A*C, H, W), got {tuple(preds.shape)}.')
    n, channels, h, w = preds.shape
    if labels.dim() == 2:  # anchor head: one label per (h, w, anchor)
        num_anchors, rest = divmod(labels.shape[1], h * w)
        if labels.shape[0] != n or rest or num_anchors == 0 or channels % num_anchors:
            raise ValueError(
                f'anchor-head labels {tuple(labels.shape)} do not match logits {tuple(preds.shape)}: '
                'expected (N, H*W*A) labels with A dividing the channels. Record the labels of the same '
                'FPN level as the logits (same record_idx).')
        rows = preds.permute(0, 2, 3, 1).reshape(-1, channels // num_anchors)
        return rows, labels.reshape(-1).long()
    if labels.dim() not in (3, 4) or labels.shape[0] != n:
        raise ValueError(f'segmentation logits {tuple(preds.shape)} need (N, H, W) or (N, 1, H, W) labels, '
                         f'got {tuple(labels.shape)}.')
    labels = resize_labels(labels, (h, w))
    return preds.permute(0, 2, 3, 1).reshape(-1, channels), labels.reshape(-1)


def shape_fix(shape_S, shape_T) -> str:
    """What to do about student and teacher logits of different shapes (for a loss's error message).

    Only the class dimension (dim 1) differing means the models predict different class sets (a 21-class VOC
    teacher, a 19-class Cityscapes student), which no resize or projection makes comparable.
    """
    if len(shape_S) == len(shape_T) and len(shape_S) >= 2 and shape_S[1] != shape_T[1] and \
            [s for i, s in enumerate(shape_S) if i != 1] == [t for i, t in enumerate(shape_T) if i != 1]:
        return (f'their class dimensions differ ({shape_S[1]} vs {shape_T[1]}): the student and the teacher '
                'predict different class sets (or, in an anchor head, different anchors per position), so their '
                "logits cannot be compared class by class. Use a teacher trained on the student's classes, or "
                'distil features instead of logits.')
    return 'record the same layer of both models (the same record_idx and data_idx).'


def valid_rows(labels: Tensor, num_classes: int, ignore_index: int) -> Tensor:
    """Rows whose label is a class index: not ``ignore_index`` and in [0, num_classes).

    Labels outside [0, C) are skipped as well: they are the background index C that mmdet's sigmoid
    heads give their negatives, which have no target class among the C logits.
    """
    return (labels != ignore_index) & (labels >= 0) & (labels < num_classes)


def zero_loss(*tensors: Tensor) -> Tensor:
    """A 0 that depends on ``tensors`` (the graph stays connected, e.g. for DDP), not NaN."""
    return sum(t.sum() * 0.0 for t in tensors if t.requires_grad) + torch.zeros(
        (), device=tensors[0].device)
