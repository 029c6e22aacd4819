"""PS-KD's soft-target cross-entropy for softmax heads (classifiers, mmseg decode heads, RoI heads).

Kim et al., "Self-Knowledge Distillation with Progressive Refinement of Targets", ICCV 2021
(arXiv 2006.12000; code: lgcnsai/PS-KD-Pytorch, ``loss/pskd_loss.py`` and ``main.py``). At epoch t
the target of a sample x with label y is

    ỹ_t(x) = (1 − α_t) · onehot(y) + α_t · p_{t−1}(x),        α_t = α_T · (t + 1) / E,

and the loss, which replaces the cross-entropy (there is no separate CE term), is

    L = −Σ_k ỹ_k · log softmax(z)_k,  averaged over the batch (official ``(-t * log_p).mean(0).sum()``).

``PSKDLoss`` is a drop-in replacement for the head's cross-entropy; it does not know where
p_{t−1} comes from. ``PSKDHook`` (mmkd_plugin/engine/hooks/pskd_hook.py) feeds it, before every loss
forward, a :class:`PreviousPredictions`: α_t and either the frozen snapshot's raw logits
(``mode='snapshot'``) or the stored per-sample probabilities (``mode='memory'``). Without a hook, or
before the first snapshot, the target is the one-hot label and the loss is the ordinary CE.

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
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

_EPS = torch.finfo(torch.float32).eps
REDUCTIONS = ('none', 'mean', 'sum')


@dataclass
class PreviousPredictions:
    """What ``PSKDHook`` hands a PS-KD loss for one loss forward of the student.

    Attributes:
        alpha: α_t, the weight of the previous predictions in the target.
        logits: the frozen snapshot's raw outputs on the current batch (snapshot mode): one tensor
            (a classifier's (N, C), a decode head's (N, C, h, w)), one tensor per level (a dense
            detection head; the loss's i-th call in a forward takes level i), or a function that
            computes them when the loss is called (an RoI head: the snapshot's RoI head on the
            student's sampled RoIs, known only then). None before the first snapshot.
        probs: the stored probabilities of the batch's samples, (N, C) (memory mode).
        seen: (N,) bool, whether each sample has been written to the memory; unseen samples train
            on their label, as the official memory holds one-hot rows during epoch 0.
        record: keep this forward's softmax (``recorded``) for the hook to write into the memory.
    """

    alpha: float
    logits: Optional[Union[Tensor, Sequence[Tensor], Callable[[], Tensor]]] = None
    probs: Optional[Tensor] = None
    seen: Optional[Tensor] = None
    record: bool = False


SNAPSHOT_SOURCES = ('outputs', 'roi_head')


class PSKDTargetsMixin:
    """The part every PS-KD loss shares: receiving :class:`PreviousPredictions` from the hook.

    A loss says what it needs and ``PSKDHook`` provides it, whatever the head:

    - ``snapshot_source``: ``'outputs'``, the snapshot's ``mode='tensor'`` classification output (one
      tensor, or one per level: the loss's i-th call takes level i, or a loss called once over all
      levels takes them all flattened, :meth:`_next_logits`); ``'roi_head'``, the snapshot's RoI head
      run on the RoIs the student sampled (a callable, evaluated when the loss asks);
    - ``supports_memory``: whether it can record one (C,) softmax row per sample for
      ``mode='memory'``.
    """

    snapshot_source = 'outputs'
    supports_memory = False

    def feed(self, previous: Optional[PreviousPredictions]) -> None:
        """Set (or, with None, clear) the previous predictions for the next loss forward."""
        self._previous = previous
        self.calls = 0
        self.recorded: List[Tensor] = []

    @property
    def previous(self) -> Optional[PreviousPredictions]:
        return getattr(self, '_previous', None)

    def check_fed(self) -> None:
        """Refuse to train without ``PSKDHook``, which feeds the loss before every training forward
        (with nothing fed the loss is the plain hard-label one, and PS-KD would silently not happen)."""
        if self.training and self.previous is None:
            raise RuntimeError(
                f'{type(self).__name__} is training without PSKDHook, so it would train the plain '
                "hard-label loss. Add default_hooks = dict(pskd=dict(type='PSKDHook', alpha_T=...)) to the "
                'config (the hook gives the loss its soft targets), or use the original loss.')

    def _next_logits(self, all_levels_rows: Optional[int] = None) -> Tensor:
        """The snapshot logits for this call: level ``calls`` when there is one tensor per level; with
        ``all_levels_rows`` (a loss called once over every level, FCOS), every level flattened to
        (Σ N·H·W·A, C) rows, level after level, which must be that many rows."""
        logits = self.previous.logits
        if all_levels_rows is not None and isinstance(logits, (list, tuple)):
            if self.calls:
                raise RuntimeError(f'{type(self).__name__}(flatten_levels=True) was called {self.calls + 1} '
                                   'times in one forward; it takes every level in one call (FCOS).')
            flat = torch.cat([level.permute(0, 2, 3, 1).reshape(-1, level.shape[1]) for level in logits])
            if flat.shape[0] != all_levels_rows:
                raise ValueError(f'flatten_levels=True: the snapshot\'s levels flatten to {flat.shape[0]} rows, '
                                 f'the loss got {all_levels_rows}; it is for heads that call their loss once '
                                 'over every level, level after level (FCOS).')
            self.calls = len(logits)
            return flat
        if isinstance(logits, (list, tuple)):
            if self.calls >= len(logits):
                raise RuntimeError(
                    f'{type(self).__name__} was called {self.calls + 1} times in one forward but the '
                    f'snapshot gave {len(logits)} levels of logits; the loss must be called once per '
                    'level, in the order of the head outputs.')
            logits = logits[self.calls]
        self.calls += 1
        return logits() if callable(logits) else logits


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
        self.feed(None)

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
        self.check_fed()
        reduction = reduction_override or self.reduction
        logits = cls_score.float()
        label = self._check_label(logits, label)
        if self.previous is not None and self.previous.record and logits.dim() != 2:
            raise ValueError(
                f"PSKDHook(mode='memory') stores one (C,) row per sample, but this head's logits are "
                f"{tuple(logits.shape)}; use mode='snapshot' for dense prediction.")
        num_classes = logits.shape[1]
        ignore = self.ignore_index if ignore_index is None else ignore_index
        valid = (label >= 0) & (label < num_classes)
        if ignore is not None:
            valid &= label != ignore
        onehot = F.one_hot(torch.where(valid, label, 0), num_classes).movedim(-1, 1).float()
        targets = self._soft_targets(logits, onehot)
        log_probs = F.log_softmax(logits, dim=1)
        loss = -(targets * log_probs).sum(dim=1) * valid
        if weight is not None:
            loss = loss * weight.float().reshape(loss.shape)
        if self.previous is not None and self.previous.record:
            self.recorded.append(F.softmax(logits.detach(), dim=1))
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

    def _soft_targets(self, logits: Tensor, onehot: Tensor) -> Tensor:
        """(1 − α)·onehot + α·p_prev, or the one-hot labels when there is nothing previous yet."""
        previous = self.previous
        if previous is None or previous.alpha == 0:
            return onehot
        if previous.probs is not None:
            probs = previous.probs.to(logits)
            if probs.shape != logits.shape:
                raise ValueError(f'memory rows {tuple(probs.shape)} do not match logits '
                                 f'{tuple(logits.shape)}; did the number of classes change?')
            prev = torch.where(previous.seen.to(logits.device)[:, None], probs, onehot)
        elif previous.logits is not None:
            prev_logits = self._next_logits().float()
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
