"""NKD: normalized knowledge distillation, per sample, per pixel or per anchor/RoI.

Yang et al., "From Knowledge Distillation to Self-Knowledge Distillation: A Unified Approach with
Normalized Loss and Customized Soft Labels", ICCV 2023 (arXiv 2303.13005); official code
yzd-v/cls_KD, ``mmcls/models/dis_losses/nkd.py`` (the version fixed in commit 9466b3f, where the
target class really is removed from the non-target softmax).
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

from .logit_rows import logits_to_rows, shape_fix, valid_rows, zero_loss
from .nkd_sigmoid import NEGATIVES, sigmoid_nkd_rows
from .resize import check_resize, match_sizes

PROBABILITIES = ('softmax', 'sigmoid')


def nkd_rows(logits_S: Tensor, logits_T: Tensor, labels: Tensor, temp: float,
             gamma: float) -> Tensor:
    """The NKD loss of each row (no reduction): (M, C), (M, C), (M,) → (M,).

    ``-T_t log S_t - gamma * temp**2 * sum_{i != t} T^temp_i log S^temp_i`` where S, T are softmaxes
    at temperature 1 and S^temp, T^temp softmaxes at ``temp`` over the C - 1 non-target logits.
    """
    num_rows, num_classes = logits_S.shape
    target = labels[:, None]
    log_s_t = F.log_softmax(logits_S, dim=1).gather(1, target)[:, 0]
    t_t = F.softmax(logits_T, dim=1).gather(1, target)[:, 0]
    non_target = torch.ones_like(logits_S, dtype=torch.bool).scatter_(1, target, False)
    # Dropping the target column (rather than masking it with -inf) keeps 0 * log 0 out of the sum.
    nt_S = logits_S[non_target].reshape(num_rows, num_classes - 1) / temp
    nt_T = logits_T[non_target].reshape(num_rows, num_classes - 1) / temp
    soft_ce = (F.softmax(nt_T, dim=1) * F.log_softmax(nt_S, dim=1)).sum(dim=1)
    return -t_t * log_s_t - gamma * temp**2 * soft_ce


@MODELS.register_module()
class NKDLoss(nn.Module):
    """Normalized KD (Yang et al., ICCV 2023, Eq. of L_NKD), for any logit layout.

    For a row of student logits z^S, teacher logits z^T and target class t::

        L = -T_t log S_t - gamma * temp^2 * sum_{i != t} T^temp_i log S^temp_i

    with S = softmax(z^S), T = softmax(z^T) and S^temp, T^temp the softmaxes at temperature
    ``temp`` over the non-target logits only (the target column removed, so they sum to 1). The
    loss is averaged over rows and the teacher is detached. Use it next to the student's task loss
    (the paper's L_ori + L_NKD).

    Rows are samples, pixels or anchors (see ``logit_rows``):

    - (M, C) logits with (M,) labels or (M, C) soft labels (the target is the arg-max, as the
      official code does for mixup/cutmix);
    - (N, C, H, W) logits with (N, H, W) or (N, 1, H', W') labels, resized to (H, W) by nearest
      neighbour; only valid pixels count (not ``ignore_index``, label in [0, C));
    - (N, A*C, H, W) anchor-head logits with (N, H*W*A) labels: the positives of a sigmoid head
      (label in [0, C)); its negatives (label C) have no target and are skipped (see ``negatives``).

    ``probability='sigmoid'`` is the same decomposition in a sigmoid head's own probability model (per-class
    Bernoulli: the target term -q_t log p_t, the non-target classes' sigmoid probabilities normalised, and
    optionally the negatives; derivation in ``nkd_sigmoid.py``). Use it for RetinaNet, ATSS, GFL, FCOS and
    RTMDet, whose classifiers are sigmoids; the softmax form above is the paper's, for softmax classifiers
    (classification, segmentation, RoI heads).

    An input without a valid row gives a zero loss that keeps the graph (not NaN). The loss is
    computed in fp32, outside autocast.

    Args:
        temp: temperature of the non-target term (lambda in the paper). Official: 1.0 on ImageNet.
        gamma: weight of the non-target term. Official: 1.5 (CNNs), 1.0 (DeiT).
        loss_weight: factor on the whole loss.
        ignore_index: label of pixels/rows to skip.
        resize: segmentation logits of different sizes (e.g. SegFormer's 1/4 against DeepLabV3's 1/8):
            ``'teacher'`` resizes the teacher's to the student's size, ``'student'`` the other way
            (``resize.py``); None (default): a size mismatch is an error naming both shapes.
        align_corners: of that bilinear resize; match the decode heads' setting (mmseg: False).
        probability: ``'softmax'`` (default, the paper's form) or ``'sigmoid'`` (a sigmoid head's
            per-class Bernoulli, ``nkd_sigmoid.py``).
        negatives: with ``probability='sigmoid'``, what the negative anchors (label C) get: ``'skip'``
            (nothing, as in the softmax form) or ``'teacher_mass'`` (the normalised non-target term over all
            C classes, weighted by the teacher's object probability 1 - prod_c (1 - q_c)). Must be ``'skip'``
            with the softmax form. The loss is divided by ``avg_factor`` or, without one, by the number of
            positive rows, as the head's loss is.

    Raises:
        ValueError: ``temp`` not > 0; an unknown ``probability``, ``negatives`` or ``resize``; negatives with
            the softmax form.
    """

    def __init__(self, temp: float = 1.0, gamma: float = 1.5, loss_weight: float = 1.0,
                 ignore_index: int = 255, resize: Optional[str] = None, align_corners: bool = False,
                 probability: str = 'softmax', negatives: str = 'skip') -> None:
        super().__init__()
        if temp <= 0:
            raise ValueError(f'NKDLoss: temp must be > 0, got {temp}.')
        if probability not in PROBABILITIES:
            raise ValueError(f'NKDLoss: probability must be one of {PROBABILITIES}, got {probability!r}.')
        if negatives not in NEGATIVES:
            raise ValueError(f'NKDLoss: negatives must be one of {NEGATIVES}, got {negatives!r}.')
        if probability == 'softmax' and negatives != 'skip':
            raise ValueError(f"NKDLoss: negatives={negatives!r} needs probability='sigmoid': a softmax over a "
                             "sigmoid head's logits has no background class to normalise a negative against.")
        self.probability = probability
        self.negatives = negatives
        check_resize(resize)
        self.resize = resize
        self.align_corners = align_corners
        self.temp = temp
        self.gamma = gamma
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index

    def forward(self, preds_S: Tensor, preds_T: Tensor, gt_labels: Tensor,
                avg_factor: Optional[Union[int, float, Tensor]] = None) -> Tensor:
        """Compute the loss.

        Args:
            preds_S: student logits.
            preds_T: teacher logits, same shape.
            gt_labels: labels (see the class docstring for the layouts).
            avg_factor: if given, the sum over valid rows is divided by it instead of their count
                (mmdet's convention, e.g. the number of positives over all FPN levels, so that the
                per-level losses add up to one average).

        Returns:
            The scalar loss.
        """
        if preds_S.dim() == 4 and gt_labels.dim() in (3, 4):  # segmentation logits: sizes may be matched
            preds_S, preds_T = match_sizes(preds_S, preds_T, self.resize, self.align_corners, 'NKDLoss')
        if preds_S.shape != preds_T.shape:
            raise ValueError(f'NKDLoss: student logits {tuple(preds_S.shape)} and teacher logits '
                             f'{tuple(preds_T.shape)} differ; ' + shape_fix(preds_S.shape, preds_T.shape))
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            rows_S, labels = logits_to_rows(preds_S.float(), gt_labels)
            rows_T, _ = logits_to_rows(preds_T.detach().float(), gt_labels)
            if labels.dim() == 2:  # soft labels
                labels = labels.argmax(dim=1)
            num_classes = rows_S.shape[1]
            positive = valid_rows(labels, num_classes, self.ignore_index)
            keep = positive | (labels == num_classes) if self.negatives != 'skip' else positive
            if not bool(keep.any()):
                return zero_loss(preds_S)
            if self.probability == 'sigmoid':
                loss = sigmoid_nkd_rows(rows_S[keep], rows_T[keep], labels[keep], self.temp, self.gamma,
                                        self.negatives)
            else:
                loss = nkd_rows(rows_S[keep], rows_T[keep], labels[keep], self.temp, self.gamma)
            count = int(positive.sum())
            denominator = max(count, 1) if avg_factor is None else max(float(avg_factor), 1.0)
            return self.loss_weight * loss.sum() / denominator
