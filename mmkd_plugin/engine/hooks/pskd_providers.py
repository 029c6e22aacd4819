"""Where a PS-KD loss gets p_{t−1}, the student's past predictions: one provider object per source.

PS-KD (Kim et al., "Self-Knowledge Distillation with Progressive Refinement of Targets", ICCV 2021,
arXiv 2006.12000) trains on ỹ_t = (1 − α_t)·onehot(y) + α_t·p_{t−1}(x), with α_t = α_T·t/T. The loss
builds ỹ_t itself (softmax or sigmoid, upsampling; ``mmkd_plugin/models/losses/pskd.py``); what it
needs from outside is α_t and p_{t−1} for the logits it is computing, and that is what a provider
answers. ``PSKDHook`` makes one provider, attaches it to the PS-KD loss once (``loss.provider``), owns
the α_t schedule and the snapshot, and tells the provider when a training batch starts and when a step
ends; the loss, when it runs, calls::

    previous = provider.past(logits)        # a PreviousPredictions: α_t and p_{t−1} for ``logits``

The providers:

- :class:`MemoryProvider` (``mode='memory'``, the official method for (N, C) classifiers): a CPU
  table of every training sample's last softmax output, addressed by the data samples'
  ``sample_idx``; it records the softmax of the logits it is asked about and writes them after the
  step (all-gathered across processes).
- :class:`SnapshotProvider` (``mode='snapshot'``, ``snapshot_source='outputs'``): the frozen copy of
  the student run without gradient, in eval mode (``snapshot_mode='eval'``) or in train mode with its
  running statistics untouched (``'train'``, ``batch_statistics``), on the batch the student is about to see; its
  ``mode='tensor'`` classification output is one tensor (classifier, decode head) or one tensor per
  level (dense detection heads), served to the loss's calls in order.
- :class:`RoISnapshotProvider` (``snapshot_source='roi_head'``): the snapshot's features on the batch,
  and its RoI head run on the RoIs the student sampled, when the loss asks.
- :class:`GivenPredictions`: fixed α and predictions, to use a PS-KD loss outside the hook (tests).

Where a provider's information comes from, without reading the student's forward arguments: the
batch is the output of the model's ``data_preprocessor`` (``{'inputs', 'data_samples'}``, what
``train_step`` passes on to the forward, also under DDP, where the wrapper calls
``module.data_preprocessor``); sample indices are the data samples' ``metainfo['sample_idx']``; the
student's sampled RoIs are the ``rois`` its RoI extractor is called with (mmdet's RoI heads pool
``bbox_roi_extractor(feats, rois)`` before the classifier, the only place the RoIs are exposed).
The two places that still watch a call: the RoI provider's forward pre-hook on the student's RoI extractor
(it reads ``rois`` by name, nothing else), and the order of a dense head's loss calls, which is its FPN level
(mmdet's heads call the loss once per level and pass no level index; ``LevelQueue`` serves level i to the
i-th call and checks that every level was used).
"""
import contextlib
import inspect
from typing import Callable, Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...models.losses.pskd import PreviousPredictions
from .pskd_memory import PredictionMemory, gather_rows

MISSING_SAMPLE_IDX = (
    "PSKDHook(mode='memory') addresses its memory by each data sample's `sample_idx`, which this "
    "batch's data samples lack. MMEngine's datasets set it, but the packing transform must keep it: add "
    "'sample_idx' to its meta_keys, e.g. dict(type='PackSegInputs', meta_keys=(<its default keys>, "
    "'sample_idx')). mmdet's PackDetInputs and mmseg's PackSegInputs leave it out by default; "
    "mmpretrain's PackInputs keeps it.")


def sample_indices(data_samples) -> Tensor:
    """The ``sample_idx`` of each data sample, as an int64 tensor (clear error if missing)."""
    indices = [getattr(ds, 'metainfo', {}).get('sample_idx') for ds in data_samples or []]
    if not indices or any(i is None for i in indices):
        raise KeyError(MISSING_SAMPLE_IDX)
    return torch.tensor(indices, dtype=torch.long)


class PastPredictions:
    """The interface a PS-KD loss pulls its past predictions from.

    ``past(logits, all_levels=False)`` is the loss's side: α_t and p_{t−1} for the logits the loss is
    computing now (see :class:`PreviousPredictions`). ``start_batch``, ``end_step`` and ``close`` are
    the hook's side: a training batch the student is about to see, the end of the optimizer step,
    the end of training.
    """

    def past(self, logits: Tensor, all_levels: bool = False) -> PreviousPredictions:
        raise NotImplementedError

    def start_batch(self, inputs, data_samples) -> None:
        """The batch (as ``data_preprocessor`` outputs it) the student is about to be trained on."""

    def end_step(self) -> None:
        """After the optimizer step: write what was recorded, check what was served."""

    def close(self) -> None:
        """Remove anything the provider put on the student's modules."""


class LevelQueue:
    """One step's snapshot outputs, served to the loss's calls.

    ``outputs`` is one tensor (a classifier's (N, C) logits, a decode head's (N, C, h, w)), or one
    (N, A·C, H, W) tensor per level (a dense detection head). mmdet's heads call their classification
    loss once per level in level order (``AnchorHead.loss_by_feat_single``), and a call carries no
    level index, while two levels may have the same size; so the i-th request of the step gets level
    i. A loss called once over every level (FCOS) asks with ``all_rows``: every level flattened to
    (Σ N·H·W·A, C) rows, level after level.
    """

    def __init__(self, outputs: Union[Tensor, Sequence[Tensor]], owner: str = 'the PS-KD loss') -> None:
        self.outputs = outputs
        self.owner = owner
        self.served = 0  # how many of the levels the loss has taken this step

    @property
    def levels(self) -> int:
        return len(self.outputs) if isinstance(self.outputs, (list, tuple)) else 1

    def take(self, all_rows: Optional[int] = None) -> Tensor:
        outputs = self.outputs
        if all_rows is not None and isinstance(outputs, (list, tuple)):
            if self.served:
                raise RuntimeError(f'{self.owner}(flatten_levels=True) was called {self.served + 1} '
                                   'times in one forward; it takes every level in one call (FCOS).')
            flat = torch.cat([level.permute(0, 2, 3, 1).reshape(-1, level.shape[1]) for level in outputs])
            if flat.shape[0] != all_rows:
                raise ValueError(f'flatten_levels=True: the snapshot\'s levels flatten to {flat.shape[0]} rows, '
                                 f'the loss got {all_rows}; it is for heads that call their loss once '
                                 'over every level, level after level (FCOS).')
            self.served = len(outputs)
            return flat
        if isinstance(outputs, (list, tuple)):
            if self.served >= len(outputs):
                raise RuntimeError(
                    f'{self.owner} was called {self.served + 1} times in one forward but the '
                    f'snapshot gave {len(outputs)} levels of logits; the loss must be called once per '
                    'level, in the order of the head outputs.')
            outputs = outputs[self.served]
        self.served += 1
        return outputs

    def check_used(self) -> None:
        """The loss must have used every level: else it is not the loss of the head whose outputs
        ``mode='tensor'`` returns, and the levels it got were some other head's."""
        if self.served != self.levels:
            raise RuntimeError(
                f'{self.owner} used {self.served} of the snapshot\'s {self.levels} logit tensors '
                'in this forward; it must be the loss of the head whose outputs `mode="tensor"` '
                'returns (the decode head, a dense detection head, a classifier head).')


class GivenPredictions(PastPredictions):
    """Fixed α and past predictions, for using or testing a PS-KD loss without ``PSKDHook``.

    Args:
        alpha: α, the weight of the past predictions in the target.
        logits: past raw outputs: one tensor, or one per level (served to the calls in order, as
            :class:`LevelQueue`); None: none.
        probs: (N, C) past probabilities (as the memory holds them); ``seen`` (N,) bool marks the rows
            that hold one, the others train on the label.
    """

    def __init__(self, alpha: float, logits: Optional[Union[Tensor, Sequence[Tensor]]] = None,
                 probs: Optional[Tensor] = None, seen: Optional[Tensor] = None) -> None:
        self.alpha = alpha
        self.probs, self.seen = probs, seen
        self.levels = None if logits is None else LevelQueue(logits)

    @property
    def served(self) -> int:
        """How many of ``logits``' levels the loss has taken."""
        return 0 if self.levels is None else self.levels.served

    def past(self, logits: Tensor, all_levels: bool = False) -> PreviousPredictions:
        taken = None
        if self.levels is not None:
            taken = self.levels.take(logits.shape[0] if all_levels else None)
        return PreviousPredictions(alpha=self.alpha, logits=taken, probs=self.probs, seen=self.seen,
                                   level=max(self.served - 1, 0))


class MemoryProvider(PastPredictions):
    """The official per-sample memory: last epoch's softmax output of each training sample.

    At ``start_batch`` it reads the rows of the batch's ``sample_idx``; ``past`` gives them (rows never
    written train on the label, as the official memory holds one-hot rows during epoch 0) and keeps
    the softmax of the logits asked about; ``end_step`` writes those rows, all-gathered across
    processes, after the optimizer step.

    Args:
        alpha: returns α_t (the hook's schedule).
        memory: returns the hook's :class:`PredictionMemory` ((num_samples, C) float32, CPU).
    """

    def __init__(self, alpha: Callable[[], float], memory: Callable[[], PredictionMemory]) -> None:
        self.alpha = alpha
        self.memory = memory
        self._batch = None  # (indices, probs, seen) of the current batch
        self._step = None  # (indices, softmax rows) to write after the step

    def start_batch(self, inputs, data_samples) -> None:
        indices = sample_indices(data_samples)
        self._batch = (indices,) + tuple(self.memory().lookup(indices))
        self._step = None

    def past(self, logits: Tensor, all_levels: bool = False) -> PreviousPredictions:
        if self._batch is None:
            raise RuntimeError("PSKDHook(mode='memory') has not seen this batch: it reads the batch from "
                               "the model's data_preprocessor output, which train_step calls first.")
        indices, probs, seen = self._batch
        if logits.dim() != 2:
            raise ValueError(
                f"PSKDHook(mode='memory') stores one (C,) row per sample, but this head's logits are "
                f"{tuple(logits.shape)}; use mode='snapshot' for dense prediction.")
        if self._step is not None or len(logits) != len(indices):
            rows = ([len(self._step[1])] if self._step is not None else []) + [len(logits)]
            raise ValueError(f"PSKDHook(mode='memory') needs one (C,) row per sample: the loss gave "
                             f'{rows} rows for {len(indices)} samples. Use mode=\'snapshot\' '
                             'for detection and segmentation heads.')
        self._step = (indices, F.softmax(logits.detach(), dim=1))
        return PreviousPredictions(alpha=self.alpha(), probs=probs, seen=seen)

    def end_step(self) -> None:
        batch, step = self._batch, self._step
        self._batch = self._step = None
        if batch is None:
            return
        if step is None:
            raise ValueError(f"PSKDHook(mode='memory') needs one (C,) row per sample: the loss gave [] "
                             f'rows for {len(batch[0])} samples. Use mode=\'snapshot\' for detection '
                             'and segmentation heads.')
        indices, probs = step
        self.memory().write(*gather_rows(indices.to(probs.device), probs))


SNAPSHOT_MODES = ('eval', 'train')


def check_snapshot_mode(snapshot_mode: str) -> None:
    """Raise ``ValueError`` for a ``snapshot_mode`` other than ``'eval'`` and ``'train'``."""
    if snapshot_mode not in SNAPSHOT_MODES:
        raise ValueError(f'snapshot_mode must be one of {SNAPSHOT_MODES}, got {snapshot_mode!r}.')


@contextlib.contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Within: ``model`` in train mode (dropout on, normalisation on the batch's statistics) with the
    running statistics of its BatchNorm-type layers neither used nor updated; eval mode afterwards.

    PyTorch's ``_BatchNorm``/``SyncBatchNorm`` with ``track_running_stats=False`` in train mode normalise
    by the batch and pass no running buffers, so ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` stay as they were.
    """
    norms = [m for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats]
    model.train()
    for norm in norms:
        norm.track_running_stats = False
    try:
        yield
    finally:
        for norm in norms:
            norm.track_running_stats = True
        model.eval()


class SnapshotProvider(PastPredictions):
    """The frozen snapshot of the student (taken by the hook), run on the current batch.

    ``start_batch`` runs ``snapshot(inputs, data_samples, mode='tensor')`` without gradient, before the
    student's forward, and keeps its classification output (the first element of a tuple); ``past``
    serves it to the loss's calls (:class:`LevelQueue`). Before the first snapshot, or while α_t = 0,
    nothing is run and the loss trains on the labels.

    Args:
        alpha: returns α_t (the hook's schedule).
        snapshot: returns the frozen snapshot, or None before the first one is taken.
        owner: the loss's name, for error messages.
        snapshot_mode: ``'eval'`` (no dropout, the running BN statistics) or ``'train'`` (as the official
            code's predictions were made: dropout on, BN on the batch's statistics; the snapshot's running
            statistics untouched, ``batch_statistics``).
    """

    def __init__(self, alpha: Callable[[], float], snapshot: Callable[[], Optional[nn.Module]],
                 owner: str = 'the PS-KD loss', snapshot_mode: str = 'eval') -> None:
        check_snapshot_mode(snapshot_mode)
        self.alpha = alpha
        self.snapshot = snapshot
        self.owner = owner
        self.snapshot_mode = snapshot_mode
        self.outputs: Optional[LevelQueue] = None
        self.started = False  # start_batch ran for this step: without it the loss would train on labels alone

    def start_batch(self, inputs, data_samples) -> None:
        self.outputs, self.started = None, True
        snapshot = self.snapshot()
        if snapshot is None or self.alpha() <= 0:
            return
        with torch.no_grad(), self.running(snapshot):
            self.outputs = LevelQueue(self._forward(snapshot, inputs, data_samples), self.owner)

    def running(self, snapshot: nn.Module):
        """The context the snapshot runs in: ``batch_statistics`` in ``'train'`` mode, else none (eval)."""
        return batch_statistics(snapshot) if self.snapshot_mode == 'train' else contextlib.nullcontext()

    @staticmethod
    def _forward(snapshot: nn.Module, inputs, data_samples):
        out = snapshot(inputs, data_samples, mode='tensor')
        return out[0] if isinstance(out, (tuple, list)) else out

    def _check_started(self) -> None:
        if not self.started and self.snapshot() is not None and self.alpha() > 0:
            raise RuntimeError("PSKDHook(mode='snapshot') has not seen this batch: it runs the snapshot on the "
                               "model's data_preprocessor output, which train_step calls first; a train_step "
                               'that skips the preprocessor would train on the labels alone.')

    def past(self, logits: Tensor, all_levels: bool = False) -> PreviousPredictions:
        self._check_started()
        if self.outputs is None:
            return PreviousPredictions(alpha=self.alpha())
        taken = self.outputs.take(logits.shape[0] if all_levels else None)
        return PreviousPredictions(alpha=self.alpha(), logits=taken, level=self.outputs.served - 1)

    def end_step(self) -> None:
        outputs, self.outputs, self.started = self.outputs, None, False
        if outputs is not None:
            outputs.check_used()


class RoISnapshotProvider(SnapshotProvider):
    """The snapshot's RoI head on the RoIs the student sampled (Faster R-CNN's ``roi_head.bbox_head``).

    The student's RoIs are known only once its RPN proposals are sampled, inside its forward. So
    ``start_batch`` computes the snapshot's features (``extract_feat``), the provider watches the
    ``rois`` the student's ``bbox_roi_extractor`` is called with, and ``past`` runs the snapshot's
    RoI head (``_bbox_forward``) on those RoIs and the snapshot's features: (num_rois, C + 1) logits,
    row for row the student's.

    Args:
        alpha, snapshot, owner, snapshot_mode: as :class:`SnapshotProvider`.
        student: the student (the module whose RoI head is ``roi_head_name``).
        roi_head_name: the RoI head's name in the student and in the snapshot, e.g. ``'roi_head'``.
    """

    def __init__(self, alpha: Callable[[], float], snapshot: Callable[[], Optional[nn.Module]],
                 student: nn.Module, roi_head_name: str, owner: str = 'the PS-KD loss',
                 snapshot_mode: str = 'eval') -> None:
        super().__init__(alpha, snapshot, owner, snapshot_mode)
        self.roi_head_name = roi_head_name
        self.feats = None
        self.rois: Optional[Tensor] = None
        extractor = student.get_submodule(roi_head_name).bbox_roi_extractor
        self._signature = inspect.signature(extractor.forward)

        def see_rois(module: nn.Module, args: tuple, kwargs: dict) -> None:
            # a function, not a bound method: a deep copy of the student does not copy the provider
            if self.feats is not None:
                self.rois = self._signature.bind(*args, **kwargs).arguments['rois']
        self._handle = extractor.register_forward_pre_hook(see_rois, with_kwargs=True)

    def start_batch(self, inputs, data_samples) -> None:
        self.outputs = self.feats = self.rois = None
        self.started = True
        snapshot = self.snapshot()
        if snapshot is None or self.alpha() <= 0:
            return
        with torch.no_grad(), self.running(snapshot):
            self.feats = snapshot.extract_feat(inputs)
        self.outputs = LevelQueue(self._roi_logits, self.owner)

    def _roi_logits(self) -> Tensor:
        if self.rois is None:
            raise RuntimeError(f'{self.owner} ran before the student\'s {self.roi_head_name}'
                               '.bbox_roi_extractor saw its sampled RoIs.')
        snapshot = self.snapshot()
        roi_head = snapshot.get_submodule(self.roi_head_name)
        with torch.no_grad(), self.running(snapshot):
            return roi_head._bbox_forward(self.feats, self.rois)['cls_score']

    def past(self, logits: Tensor, all_levels: bool = False) -> PreviousPredictions:
        self._check_started()
        if self.outputs is None:
            return PreviousPredictions(alpha=self.alpha())
        return PreviousPredictions(alpha=self.alpha(), logits=self.outputs.take()())

    def end_step(self) -> None:
        super().end_step()
        self.feats = self.rois = None

    def close(self) -> None:
        self._handle.remove()

