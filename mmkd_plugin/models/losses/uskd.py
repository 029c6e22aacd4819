"""USKD: teacher-free (self-) knowledge distillation with customized soft labels, made dense.

Yang et al., "From Knowledge Distillation to Self-Knowledge Distillation: A Unified Approach with
Normalized Loss and Customized Soft Labels", ICCV 2023 (arXiv 2303.13005); official code
yzd-v/cls_KD, ``mmcls/models/dis_losses/uskd.py``. Rows are images (classification) or valid pixels
(segmentation); see ``logit_rows``.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

from .logit_rows import logits_to_rows, valid_rows, zero_loss

RANK_SCORES = ('log_prob', 'prob')
WEAK_SMOOTHING = 0.1  # the weak classifier's label smoothing, fixed in the official code
EPS = 1e-6


def zipf_non_target(scores: Tensor, non_target: Tensor) -> Tensor:
    """Zipf labels 1/rank from ``scores`` (rank 1 = highest), target columns dropped, rows sum to 1."""
    order = scores.argsort(dim=1, descending=True, stable=True)
    rank = order.argsort(dim=1) + 1  # rank of each class
    zipf = 1.0 / rank.to(scores.dtype)
    zipf = zipf[non_target].reshape(scores.shape[0], -1)
    return zipf / zipf.sum(dim=1, keepdim=True)


def uskd_rows(logits: Tensor, weak_logits: Tensor, labels: Tensor, values: Tensor,
              weak_target: Tensor, alpha: float, beta: float, mu: float,
              rank_scores: str) -> Tuple[Tensor, Tensor, Tensor]:
    """The three USKD terms on (M, C) rows with K target columns per row (K = 1, or 2 for mixup).

    Args:
        logits: the student's final logits z, (M, C).
        weak_logits: the weak classifier's logits w, (M, C).
        labels: target classes, (M, K) int64.
        values: their label values v_t, (M, K) (1 for hard labels).
        weak_target: the weak classifier's target before smoothing, (M, C).
        alpha, beta, mu: weights of L_target, L_non and L_weak.
        rank_scores: ``'log_prob'`` (official code) or ``'prob'`` for the final logits' rank score.

    Returns:
        alpha * L_target, beta * L_non and L_weak, each averaged over the rows.
    """
    num_rows, num_classes = logits.shape
    log_p = F.log_softmax(logits, dim=1)
    log_p_t = log_p.gather(1, labels)
    # Soft target: p_t^2 + v_t - mean over the rows of p_t^2, detached; 0 where v_t = 0.
    q_t = log_p_t.detach().exp() ** 2
    soft_t = (q_t + values - q_t.mean(dim=0, keepdim=True)).masked_fill(values == 0, 0)
    loss_target = -(soft_t * log_p_t).sum(dim=1).mean()

    smoothed = (1 - WEAK_SMOOTHING) * weak_target + WEAK_SMOOTHING / num_classes
    loss_weak = -mu * (smoothed * F.log_softmax(weak_logits, dim=1)).sum(dim=1).mean()

    with torch.no_grad():
        w = F.softmax(weak_logits, dim=1)
        # The official code scores the final logits with log-probabilities (its `s_i` is reassigned
        # to log_softmax before the rank line); 'prob' is the form the paper's notation suggests.
        r = log_p if rank_scores == 'log_prob' else log_p.exp()
        scores = (w / (1 - w.gather(1, labels).sum(1, keepdim=True) + EPS)
                  + r / (1 - r.gather(1, labels).sum(1, keepdim=True) + EPS))
        non_target = torch.ones_like(logits, dtype=torch.bool).scatter_(1, labels, False)
        zipf = zipf_non_target(scores, non_target)
    log_p_non = F.log_softmax(logits[non_target].reshape(num_rows, -1), dim=1)
    loss_non = -(zipf * log_p_non).sum(dim=1).mean()
    return alpha * loss_target, beta * loss_non, loss_weak


@MODELS.register_module()
class USKDLoss(nn.Module):
    """USKD (Yang et al., ICCV 2023), per image or per pixel, with its weak classifier.

    For a row with final logits z (p = softmax z), weak logits w = W f_mid (a 1x1 conv / linear
    layer owned by this loss, so it is trained and checkpointed with the distiller) and target t::

        L = alpha * L_target + beta * L_non + L_weak
        L_target = -y_t log p_t,   y_t = p_t^2 + 1 - mean_rows(p_t^2)          (detached)
        L_weak   = -mu * sum_i [0.9 onehot(t)_i + 0.1 / C] log softmax(w)_i
        L_non    = -sum_{i != t} z_i' log softmax_{j != t}(z)_i,
        z'       = Zipf labels 1/rank_i of  w_i / (1 - w_t) + r_i / (1 - r_t), target dropped,
                   renormalised (detached),

    where w_i = softmax(w)_i and r = log p (the official code; ``rank_scores='prob'`` uses r = p).
    The means run over the valid rows of the batch. The student's own task loss (CE) stays as it is.

    Layouts: (M, C) logits with (M, Cm) or (N, Cm, h, w) (pooled) mid features and (M,) labels or
    (M, C) soft labels (mixup: the top-2 classes are targets, as in the official code); or
    (N, C, H, W) logits with (N, Cm, h, w) mid features (weak logits resized bilinearly to H, W if
    needed) and (N, H', W') / (N, 1, H', W') labels (nearest neighbour; ``ignore_index`` skipped).
    An input without a valid row gives a zero loss that keeps the graph. Computed in fp32.

    Args:
        in_channels: channels of the mid-level feature (official ``channel``; e.g. 256 for the
            stage-3 output of ResNet-18).
        num_classes: number of classes C.
        alpha: weight of L_target. Official: 1.0 (ImageNet), 0.1 (CIFAR-100).
        beta: weight of L_non. Official: 0.1.
        mu: weight of the weak classifier's loss. Official: 0.005 (ImageNet), 0.1 (CIFAR-100).
        rank_scores: ``'log_prob'`` (default, reproduces the released code) or ``'prob'``.
        loss_weight: factor on the whole loss.
        ignore_index: label of pixels to skip.
    """

    def __init__(self, in_channels: int, num_classes: int, alpha: float = 1.0, beta: float = 0.1,
                 mu: float = 0.005, rank_scores: str = 'log_prob', loss_weight: float = 1.0,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if rank_scores not in RANK_SCORES:
            raise ValueError(f'USKDLoss: rank_scores must be one of {RANK_SCORES}, got {rank_scores!r}.')
        self.num_classes = num_classes
        self.alpha, self.beta, self.mu = alpha, beta, mu
        self.rank_scores = rank_scores
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.weak_classifier = nn.Conv2d(in_channels, num_classes, kernel_size=1)

    def weak_logits(self, feats: Tensor, like: Tensor) -> Tensor:
        """The weak classifier's logits in the layout of the final logits ``like``."""
        if feats.shape[1] != self.weak_classifier.in_channels:
            raise ValueError(f'USKDLoss: the mid-level feature has {feats.shape[1]} channels but '
                             f'in_channels={self.weak_classifier.in_channels}; set in_channels to the '
                             'recorded feature width (or record another stage).')
        weight = self.weak_classifier.weight.float()
        bias = self.weak_classifier.bias.float()
        if like.dim() == 2:
            pooled = feats.float().flatten(2).mean(2) if feats.dim() == 4 else feats.float()
            return F.linear(pooled, weight.flatten(1), bias)
        weak = F.conv2d(feats.float(), weight, bias)
        if weak.shape[-2:] != like.shape[-2:]:
            weak = F.interpolate(weak, size=like.shape[-2:], mode='bilinear', align_corners=False)
        return weak

    def forward(self, preds_S: Tensor, feats_S: Tensor, gt_labels: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            preds_S: the student's final logits.
            feats_S: the student's mid-level feature (input of the weak classifier).
            gt_labels: labels (see the class docstring for the layouts).

        Returns:
            The scalar loss.
        """
        if preds_S.shape[1] != self.num_classes:
            raise ValueError(f'USKDLoss: logits have {preds_S.shape[1]} classes, num_classes is '
                             f'{self.num_classes}; set num_classes to the head\'s classes.')
        if preds_S.dim() == 4 and gt_labels.dim() not in (3, 4):
            raise ValueError(f'USKDLoss: (N, C, H, W) logits need (N, H, W) or (N, 1, H, W) label maps, '
                             f'got {tuple(gt_labels.shape)}; anchor-head layouts are not supported.')
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            weak = self.weak_logits(feats_S, preds_S)
            rows, labels = logits_to_rows(preds_S.float(), gt_labels)
            weak_rows, _ = logits_to_rows(weak, gt_labels)
            if labels.dim() == 2:  # soft labels: the official code's top-2 targets
                values, targets = labels.float().topk(2, dim=1)
                dense_target = labels.float()
            else:
                keep = valid_rows(labels, self.num_classes, self.ignore_index)
                if not bool(keep.any()):
                    return zero_loss(preds_S, weak)
                rows, weak_rows, targets = rows[keep], weak_rows[keep], labels[keep, None]
                values = torch.ones_like(targets, dtype=rows.dtype)
                dense_target = torch.zeros_like(rows).scatter_(1, targets, 1.0)
            terms = uskd_rows(rows, weak_rows, targets, values, dense_target, self.alpha,
                              self.beta, self.mu, self.rank_scores)
            return self.loss_weight * sum(terms)
