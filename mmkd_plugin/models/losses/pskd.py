"""PS-KD's soft-target cross-entropy for softmax heads (classifiers, mmseg decode heads, RoI heads).

Kim et al., "Self-Knowledge Distillation with Progressive Refinement of Targets", ICCV 2021
(arXiv 2006.12000; code: lgcnsai/PS-KD-Pytorch, ``loss/pskd_loss.py`` and ``main.py``). At epoch t
the target of a sample x with label y is

    ỹ_t(x) = (1 − α_t) · onehot(y) + α_t · p_{t−1}(x),        α_t = α_T · (t + 1) / E,

and the loss, which replaces the cross-entropy (there is no separate CE term), is

    L = −Σ_k ỹ_k · log softmax(z)_k,  averaged over the batch (official ``(-t * log_p).mean(0).sum()``).

``PSKDLoss`` is a drop-in replacement for the head's cross-entropy; it does not know where
p_{t−1} comes from: ``PSKDHook`` (mmkd_plugin/engine/hooks/pskd_hook.py) attaches a provider to it
once (mmkd_plugin/engine/hooks/pskd_providers.py), and when the loss runs it asks that provider for
the logits it is computing (:meth:`PSKDTargetsMixin.past_predictions`), which answers a
:class:`PreviousPredictions`: α_t and either the frozen snapshot's raw logits (``mode='snapshot'``) or
the stored per-sample probabilities (``mode='memory'``). Before the first snapshot, or in evaluation
without a provider, the target is the one-hot label and the loss is the ordinary CE.

Layouts (``cls_score`` / ``label``, as the heads call their loss):

- classification and RoI heads: (N, C) / (N,) class indices (an RoI head's background is index C−1);
- mmseg decode heads: (N, C, H, W) / (N, H, W). mmseg upsamples the logits bilinearly to the label
  size before calling the loss; the snapshot's logits (at the head's output size, 1/8 for
  DeepLabV3-d8) are upsampled the same way here (``align_corners`` must equal the head's; the hook
  checks), so that the soft targets are per pixel at label resolution. Pixels labelled
  ``ignore_index`` (255) contribute nothing, whatever the snapshot predicts there.

Reduction follows the heads' own cross-entropies, so that with α = 0 the loss equals the stock one:
``avg_factor`` if the head passes one (mmdet, mmpretrain), else the mean over all elements (mmseg's
default ``avg_non_ignore=False``: ignored pixels count in the denominator) or over the non-ignored
ones (``avg_non_ignore=True``). Everything is computed in fp32, also under autocast.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

_EPS = torch.finfo(torch.float32).eps
REDUCTIONS = ('none', 'mean', 'sum')


@dataclass
class PreviousPredictions:
    """What a provider answers a PS-KD loss for the logits it is computing: α_t and p_{t−1}.

    Attributes:
        alpha: α_t, the weight of the previous predictions in the target.
        logits: the frozen snapshot's raw outputs for these logits (snapshot mode): a classifier's
            (N, C), a decode head's (N, C, h, w) (at the head's output size), one detection level's
            (N, A·C, H, W), every level flattened to (Σ N·H·W·A, C) rows (a loss that asked for all
            levels at once), or an RoI head's (num_rois, C + 1) on the student's sampled RoIs. None
            before the first snapshot or while α_t = 0.
        probs: the stored probabilities of the batch's samples, (N, C) (memory mode); None while
            nothing has been written.
        seen: (N,) bool, whether each sample has been written to the memory; unseen samples train
            on their label, as the official memory holds one-hot rows during epoch 0.
        level: which of the snapshot's levels ``logits`` is (for error messages).
    """

    alpha: float
    logits: Optional[Tensor] = None
    probs: Optional[Tensor] = None
    seen: Optional[Tensor] = None
    level: int = 0


SNAPSHOT_SOURCES = ('outputs', 'roi_head')


class PSKDTargetsMixin:
    """The part every PS-KD loss shares: pulling α_t and p_{t−1} from its provider.

    ``PSKDHook`` attaches one provider to the loss (``provider``, see
    ``mmkd_plugin/engine/hooks/pskd_providers.py``) when training starts; the loss calls
    :meth:`past_predictions` with the logits it is computing and builds the soft targets
    (1 − α_t)·onehot(y) + α_t·p_{t−1} from the answer. A loss for a new head is this mixin, an
    ``nn.Module`` and a ``forward`` that does so; it says what it needs, the hook provides it:

    - ``snapshot_source``: ``'outputs'``, the snapshot's ``mode='tensor'`` classification output (one
      tensor; or one per level, the loss's calls in a forward taking the levels in order, or, with
      ``all_levels=True``, every level at once, flattened); ``'roi_head'``, the snapshot's RoI head run
      on the RoIs the student sampled;
    - ``supports_memory``: whether it has one (C,) softmax row per sample, for ``mode='memory'``.
    """

    snapshot_source = 'outputs'
    supports_memory = False
    provider = None

    def attach_provider(self, provider) -> None:
        """Take past predictions from ``provider`` (None: none, the loss is then the hard-label one).
        ``PSKDHook`` refuses ``mode='memory'`` for a loss without ``supports_memory`` before it attaches
        anything, and ``MemoryProvider`` refuses logits that are not one (C,) row per sample."""
        self.provider = provider

    def past_predictions(self, logits: Tensor, all_levels: bool = False) -> Optional[PreviousPredictions]:
        """α_t and p_{t−1} for ``logits`` from the provider; None without one (evaluation only).

        Training without a provider is refused: with nothing attached the loss is the plain hard-label
        one, and PS-KD would silently not happen.
        """
        if self.provider is None:
            if self.training:
                raise RuntimeError(
                    f'{type(self).__name__} is training without PSKDHook, so it would train the plain '
                    "hard-label loss. Add default_hooks = dict(pskd=dict(type='PSKDHook', alpha_T=...)) to "
                    'the config (the hook gives the loss its soft targets), or use the original loss.')
            return None
        return self.provider.past(logits, all_levels=all_levels)


def reduce_loss(loss: Tensor, valid: Tensor, reduction: str, avg_factor: Optional[float],
                avg_non_ignore: bool) -> Tensor:
    """Reduce an element-wise loss the way mmseg/mmdet ``weight_reduce_loss`` does."""
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        if avg_factor is not None:
            raise ValueError('avg_factor can not be used with reduction="sum".')
        return loss.sum()
    if avg_factor is None:
        avg_factor = valid.sum() if avg_non_ignore else valid.numel()
    return loss.sum() / (avg_factor + _EPS)


@MODELS.register_module()
class PSKDLoss(PSKDTargetsMixin, nn.Module):
    """Soft-target cross-entropy of PS-KD, −Σ_k ((1 − α)·onehot(y) + α·p_prev)_k · log softmax(z)_k.

    Put it where the head's cross-entropy was (``decode_head.loss_decode``,
    ``roi_head.bbox_head.loss_cls``, a classifier head's ``loss``) and add ``PSKDHook`` to
    ``default_hooks``; from an mmseg/mmdet scope write ``type='mmrazor.PSKDLoss'``.

    Args:
        loss_weight: weight of the loss.
        reduction: 'mean', 'sum' or 'none' (a head's ``reduction_override`` wins).
        avg_non_ignore: average over the non-ignored elements only (mmseg's flag; default False as
            in mmseg's ``CrossEntropyLoss``, so α = 0 gives the stock loss).
        ignore_index: label to ignore when the head passes none; None: every label in [0, C) counts
            (mmseg passes its head's, 255; classifiers and RoI heads pass none, so that class 255
            of a 1000-class problem is not dropped).
        align_corners: how the snapshot's dense logits are upsampled to the label size; must equal
            the decode head's ``align_corners`` (False for mmseg's DeepLabV3/PSPNet heads).
        loss_name: the key of the loss in mmseg's loss dict; must start with ``loss_``.
        snapshot_source: ``'outputs'`` (classifiers, decode heads) or ``'roi_head'`` (an RoI head's
            classifier, e.g. Faster R-CNN's ``roi_head.bbox_head.loss_cls``: the snapshot's RoI head
            is run on the RoIs the student sampled).
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 avg_non_ignore: bool = False, ignore_index: Optional[int] = None,
                 align_corners: bool = False, loss_name: str = 'loss_pskd',
                 snapshot_source: str = 'outputs') -> None:
        super().__init__()
        if snapshot_source not in SNAPSHOT_SOURCES:
            raise ValueError(f'snapshot_source must be one of {SNAPSHOT_SOURCES}, got {snapshot_source!r}.')
        self.snapshot_source = snapshot_source
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}.')
        if not loss_name.startswith('loss_'):
            raise ValueError(f"loss_name must start with 'loss_' (mmseg only sums those), got {loss_name!r}.")
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.avg_non_ignore = avg_non_ignore
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self._loss_name = loss_name

    @property
    def supports_memory(self) -> bool:
        """One (C,) row per sample: classifiers, not RoI heads (rows are RoIs) nor dense heads."""
        return self.snapshot_source == 'outputs'

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, cls_score: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None, **kwargs) -> Tensor:
        """Soft-target CE of ``cls_score`` (N, C[, H, W]) against ``label`` (N[, H, W]).

        Args:
            cls_score: logits.
            label: class indices; ``ignore_index`` and anything outside [0, C) are ignored.
            weight: element-wise weights, (N[, H, W]) (mmdet ``label_weights``, mmseg sampler).
            avg_factor: divisor of the summed loss, when the head gives one.
            reduction_override: 'none', 'mean' or 'sum'.
            ignore_index: overrides ``self.ignore_index`` (mmseg passes the head's).

        Returns:
            The weighted loss (a scalar unless the reduction is 'none').
        """
        reduction = reduction_override or self.reduction
        logits = cls_score.float()
        label = self._check_label(logits, label)
        previous = self.past_predictions(logits)
        num_classes = logits.shape[1]
        ignore = self.ignore_index if ignore_index is None else ignore_index
        valid = (label >= 0) & (label < num_classes)
        if ignore is not None:
            valid &= label != ignore
        onehot = F.one_hot(torch.where(valid, label, 0), num_classes).movedim(-1, 1).float()
        targets = self._soft_targets(logits, onehot, previous)
        log_probs = F.log_softmax(logits, dim=1)
        loss = -(targets * log_probs).sum(dim=1) * valid
        if weight is not None:
            loss = loss * weight.float().reshape(loss.shape)
        return self.loss_weight * reduce_loss(loss, valid, reduction, avg_factor, self.avg_non_ignore)

    @staticmethod
    def _check_label(logits: Tensor, label: Tensor) -> Tensor:
        if label.is_floating_point():
            raise ValueError(
                'PSKDLoss needs class-index labels; it builds the soft targets itself. Got float labels '
                f'{tuple(label.shape)} (mixup/cutmix or label smoothing?): drop those batch augments.')
        if logits.dim() not in (2, 4):
            raise ValueError(f'PSKDLoss takes (N, C) or (N, C, H, W) logits, got {tuple(logits.shape)}.')
        if logits.dim() == 4 and label.dim() == 4 and label.shape[1] == 1:
            label = label[:, 0]
        expected = (logits.shape[0],) + tuple(logits.shape[2:])
        if tuple(label.shape) != expected:
            raise ValueError(f'labels {tuple(label.shape)} do not match logits {tuple(logits.shape)}: '
                             f'expected {expected}.')
        return label.long()

    def _soft_targets(self, logits: Tensor, onehot: Tensor,
                      previous: Optional[PreviousPredictions]) -> Tensor:
        """(1 − α)·onehot + α·p_prev, or the one-hot labels when there is nothing previous yet."""
        if previous is None or previous.alpha == 0:
            return onehot
        if previous.probs is not None:
            probs = previous.probs.to(logits)
            if probs.shape != logits.shape:
                raise ValueError(f'memory rows {tuple(probs.shape)} do not match logits '
                                 f'{tuple(logits.shape)}; did the number of classes change?')
            prev = torch.where(previous.seen.to(logits.device)[:, None], probs, onehot)
        elif previous.logits is not None:
            prev_logits = previous.logits.float()
            if prev_logits.dim() == 4 and prev_logits.shape[2:] != logits.shape[2:]:
                prev_logits = F.interpolate(prev_logits, size=logits.shape[2:], mode='bilinear',
                                            align_corners=self.align_corners)
            if prev_logits.shape != logits.shape:
                raise ValueError(f'snapshot logits {tuple(prev_logits.shape)} do not match the '
                                 f'student logits {tuple(logits.shape)}.')
            prev = F.softmax(prev_logits, dim=1)
        else:
            return onehot
        return (1 - previous.alpha) * onehot + previous.alpha * prev
