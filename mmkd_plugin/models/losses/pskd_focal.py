"""PS-KD for one-stage detectors with per-class sigmoid scores (RetinaNet): a soft-target focal loss.

PS-KD (Kim et al., ICCV 2021, arXiv 2006.12000) softens a softmax target; RetinaNet, FCOS and GFL
score each class with its own sigmoid and have no background class, and BCKD (Yang et al., ICCV 2023,
arXiv 2308.14286) argues against forcing a softmax on them. So the soft target is built per class,
as a Bernoulli probability (configs/pskd/README.md, "Dense adaptations"):

    t_k = (1 − α) · onehot(y)_k + α · σ(z^snap_k),        (background anchors: onehot = 0)

and the focal loss is given the soft-target form of Quality Focal Loss (Li et al., "Generalized
Focal Loss", NeurIPS 2020), keeping RetinaNet's class balance interpolated in t:

    L_k = BCE(σ(z_k), t_k) · (a·t_k + (1 − a)·(1 − t_k)) · |t_k − σ(z_k)|^γ.

For t ∈ {0, 1}, |t − σ| is the focal ``p_t`` term, so with α = 0 this is exactly mmdet's sigmoid
``FocalLoss``; for soft t the modulating factor vanishes at σ = t, where the BCE is minimal (the
``p_t`` form would not). Anchors are weighted and averaged as mmdet does (``label_weights``,
``avg_factor`` = number of positives).

The snapshot's classification maps come from ``snapshot(..., mode='tensor')`` = (cls_scores,
bbox_preds): one (N, A·C, H, W) map per FPN level. mmdet's ``AnchorHead.loss_by_feat_single`` calls
the loss once per level, in level order, on ``cls_score.permute(0, 2, 3, 1).reshape(-1, C)``; the
provider (``PSKDHook``'s, mmkd_plugin/engine/hooks/pskd_providers.py) answers the i-th call of a
forward with level i, which is reshaped the same way here (and its size checked). With
``flatten_levels=True`` (FCOS, one call over every level) it answers with every level flattened.

Replace ``type='FocalLoss'`` by ``type='mmrazor.PSKDFocalLoss'`` in ``bbox_head.loss_cls`` and keep
the other keys (``use_sigmoid=True`` must stay: mmdet reads it from the config to size the head).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

from .pskd import REDUCTIONS, PreviousPredictions, PSKDTargetsMixin, reduce_loss


@MODELS.register_module()
class PSKDFocalLoss(PSKDTargetsMixin, nn.Module):
    """Soft-target (QFL-form) focal loss for PS-KD on sigmoid classification heads.

    Args:
        use_sigmoid: must be True (sigmoid heads); kept for mmdet's head, which reads it.
        gamma: focal exponent γ (RetinaNet: 2.0).
        alpha: focal class balance a of the positive term (RetinaNet: 0.25); not PS-KD's α_t,
            which comes from ``PSKDHook``. None: no balance term (Quality Focal Loss).
        flatten_levels: the head calls the loss once over every level flattened, level after level
            (FCOS); the snapshot's levels are flattened the same way. False: one call per level.
        loss_weight: weight of the loss.
        reduction: 'mean', 'sum' or 'none'.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: Optional[float] = 0.25,
                 loss_weight: float = 1.0, reduction: str = 'mean', flatten_levels: bool = False) -> None:
        super().__init__()
        if not use_sigmoid:
            raise ValueError('PSKDFocalLoss is for sigmoid heads (use_sigmoid=True); for a softmax head '
                             '(an RoI head) use PSKDLoss.')
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}.')
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.flatten_levels = flatten_levels

    def forward(self, pred: Tensor, target, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` (M, C) logits against ``target`` (M,) labels in [0, C] (C = background).

        Args:
            pred: classification logits of one level, (M, C), or of every level at once (FCOS).
            target: anchor labels; C marks background.
            weight: (M,) or (M, C) anchor weights (mmdet ``label_weights``).
            avg_factor: divisor of the summed loss (mmdet: the number of positive anchors).
            reduction_override: 'none', 'mean' or 'sum'.
        """
        reduction = reduction_override or self.reduction
        logits = pred.float()
        hard = self._hard_targets(logits, target)
        soft = self._soft_targets(logits, hard, self.past_predictions(logits, all_levels=self.flatten_levels))
        prob = logits.sigmoid()
        loss = F.binary_cross_entropy_with_logits(logits, soft, reduction='none')
        if self.alpha is not None:
            loss = loss * (self.alpha * soft + (1 - self.alpha) * (1 - soft))
        loss = loss * (soft - prob).abs().pow(self.gamma)
        if self.alpha is None:  # QFL: summed over the classes, then weighted and reduced per anchor
            loss = loss.sum(dim=1)
        if weight is not None:
            weight = weight.float()
            loss = loss * (weight[:, None] if weight.dim() < loss.dim() else weight)
        valid = torch.ones_like(loss, dtype=torch.bool)
        return self.loss_weight * reduce_loss(loss, valid, reduction, avg_factor, False)

    @staticmethod
    def _hard_targets(logits: Tensor, target: Tensor) -> Tensor:
        """(M, C) targets without PS-KD: one-hot labels, zero rows for background (label C)."""
        if logits.dim() != 2 or target.shape != logits.shape[:1]:
            raise ValueError(f'PSKDFocalLoss takes (M, C) logits and (M,) labels, got '
                             f'{tuple(logits.shape)} and {tuple(target.shape)}.')
        num_classes = logits.shape[1]
        return F.one_hot(target.long().clamp(0, num_classes), num_classes + 1)[:, :num_classes].float()

    @staticmethod
    def _soft_targets(logits: Tensor, onehot: Tensor, previous: Optional[PreviousPredictions]) -> Tensor:
        """(1 − α)·onehot + α·σ(z^snap), or the hard targets when there is nothing previous yet."""
        if previous is None or previous.alpha == 0 or previous.logits is None:
            return onehot
        prev = previous.logits.float()
        if prev.dim() == 4:  # (N, A*C, H, W), as the head outputs it
            prev = prev.permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
        if prev.shape != logits.shape:
            raise ValueError(f'snapshot logits of level {previous.level} give {tuple(prev.shape)} rows, '
                             f'the student level has {tuple(logits.shape)}; the loss must be called once '
                             'per level, in order (mmdet AnchorHead.loss_by_feat_single), or once over '
                             'every level flattened level after level (FCOS).')
        return (1 - previous.alpha) * onehot + previous.alpha * prev.sigmoid()


@MODELS.register_module()
class PSKDQualityFocalLoss(PSKDFocalLoss):
    """PS-KD for heads trained with Quality Focal Loss (GFL, RTMDet; Li et al., NeurIPS 2020).

    The head's target is a (label, quality score) pair: t_k = score for the labelled class, 0 for the
    others and for background. PS-KD softens it per class as for ``PSKDFocalLoss``,
    t'_k = (1 − α)·t_k + α·σ(z^snap_k), and the loss is QFL's, BCE(σ(z_k), t'_k)·|t'_k − σ(z_k)|^β, weighted
    per anchor (``label_weights``) and divided by ``avg_factor`` as mmdet's ``QualityFocalLoss``; with
    α = 0 it equals mmdet's loss. Replace ``type='QualityFocalLoss'`` by
    ``type='mmrazor.PSKDQualityFocalLoss'`` in ``bbox_head.loss_cls``, keeping ``use_sigmoid`` and
    ``beta``.

    Args:
        use_sigmoid: must be True.
        beta: QFL's modulating exponent β (GFL, RTMDet: 2.0).
        activated: must be False (the heads give logits).
        loss_weight: weight of the loss.
        reduction: 'mean', 'sum' or 'none'.
    """

    def __init__(self, use_sigmoid: bool = True, beta: float = 2.0, activated: bool = False,
                 loss_weight: float = 1.0, reduction: str = 'mean', flatten_levels: bool = False) -> None:
        if activated:
            raise ValueError('PSKDQualityFocalLoss takes logits (activated=False), as GFL and RTMDet give.')
        super().__init__(use_sigmoid=use_sigmoid, gamma=beta, alpha=None, loss_weight=loss_weight,
                         reduction=reduction, flatten_levels=flatten_levels)
        self.beta = beta
        self.activated = activated

    @staticmethod
    def _hard_targets(logits: Tensor, target) -> Tensor:
        """QFL's (M, C) targets from ``(labels, scores)``: the score at the labelled class."""
        if not isinstance(target, (tuple, list)) or len(target) != 2:
            raise ValueError('PSKDQualityFocalLoss takes (labels, scores) targets, as GFL and RTMDet pass them.')
        labels, scores = target
        onehot = PSKDFocalLoss._hard_targets(logits, labels)
        return onehot * scores.float().reshape(-1, 1)
