"""PS-KD's training-loop side: the α_t schedule and the previous predictions, fed to a PS-KD loss.

Kim et al., "Self-Knowledge Distillation with Progressive Refinement of Targets", ICCV 2021
(arXiv 2006.12000; lgcnsai/PS-KD-Pytorch ``main.py``). The student's own earlier predictions soften
its targets, ỹ_t = (1 − α_t)·onehot(y) + α_t·p_{t−1}(x), more and more as training goes on:

- epoch-based loops (the official schedule): α_t = α_T · (t + 1) / E for epoch t = 0 … E−1, constant
  within the epoch;
- iteration-based loops (mmseg): α_i = α_T · (i + 1) / I for iteration i = 0 … I−1, updated every
  iteration; α reaches α_T at the last iteration, as at the last epoch.

The previous predictions p_{t−1} come in two modes:

- ``'memory'`` (the official method; (N, C) classifiers): a CPU table of every sample's last softmax
  output, addressed by the data sample's ``sample_idx`` (``pskd_memory.py``). Unwritten rows train on
  the label (epoch 0); rows are written after each step, all-gathered across processes.
- ``'snapshot'`` (dense prediction, where a per-pixel memory would be GBs and misaligned by random crops
  and flips; configs/pskd/README.md, "Dense adaptations"): a frozen copy of the student, refreshed at
  every epoch boundary (``snapshot_interval=None`` with an epoch-based loop) or every
  ``snapshot_interval`` iterations (default for iteration-based loops: one pass over the data,
  ⌈len(dataset) / (batch · world size)⌉), run without gradient on the current, already preprocessed batch:
  one extra forward per step. Until the first snapshot the student trains on the labels.
  ``snapshot_mode='eval'`` runs it in eval mode; ``'train'`` in train mode with its running statistics
  untouched, as the official predictions were made (a training forward), though on this step's augmented
  view, not the previous epoch's.

How the targets reach the loss: the model stays the stock one; its head's classification loss is
replaced by ``PSKDLoss`` (softmax heads), ``PSKDFocalLoss`` (sigmoid focal-loss heads: RetinaNet, ATSS,
FCOS) or ``PSKDQualityFocalLoss`` (GFL, RTMDet). When training starts the hook attaches one provider
of past predictions to that loss (``pskd_providers.py``): a ``MemoryProvider``, a ``SnapshotProvider``
(the snapshot's ``mode='tensor'`` classification output: a classifier's or decode head's logits, a
dense detection head's per-level maps) or a ``RoISnapshotProvider`` (the snapshot's RoI head on the
student's sampled RoIs), chosen by what the loss asks for (its ``snapshot_source``, see
``PSKDTargetsMixin``), not by head names. The provider sees each training batch as the model's
``data_preprocessor`` outputs it (the memory rows of its ``sample_idx`` are read, or the snapshot is
run on it), and the loss, when it runs, pulls α_t and p_{t−1} from it. The hook keeps the schedule
and the snapshot, refreshes the snapshot at its boundaries, and ends each step on the provider (the
memory is written). In an MMRazor algorithm the student (``architecture``) is softened and the
algorithm's ``data_preprocessor`` watched.

Nothing is lost on resume: α, the snapshot (with the iteration it was taken) and the memory are
saved in the checkpoint under ``'pskd'`` (plain tensors, so ``weights_only`` loading accepts them) and
restored when the run resumes; ``load_from`` without resume starts PS-KD afresh.
"""
import copy
import math
from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop
from torch import Tensor, nn

from ...models.losses.pskd import PSKDTargetsMixin
from ...models.utils.runner_check import is_distill_runner
from ...models.utils.student import student_of, unwrap
from .pskd_memory import PredictionMemory
from .pskd_providers import (MISSING_SAMPLE_IDX, MemoryProvider, PastPredictions, check_snapshot_mode,  # noqa: F401
                             RoISnapshotProvider, SnapshotProvider, sample_indices)

MODES = ('snapshot', 'memory')


@HOOKS.register_module()
class PSKDHook(Hook):
    """Progressive self-knowledge distillation: α_t schedule, snapshot or memory, checkpointing.

    Args:
        alpha_T: α at the end of training, in [0, 1] (official default 0.8).
        mode: ``'snapshot'`` (a frozen copy of the student run on each batch) or ``'memory'`` (the
            official per-sample table of softmax outputs; (N, C) classifiers only).
        snapshot_interval: iterations between snapshots. None: every epoch boundary for epoch-based
            loops, one pass over the data for iteration-based ones. Snapshot mode only.
        snapshot_mode: how the snapshot runs: ``'eval'`` (no dropout, its running BN statistics) or
            ``'train'`` (dropout on, BN on each batch's statistics, its running statistics untouched),
            as the official code's predictions were made in the previous epoch's training forward.
            Snapshot mode only.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    # After an iteration the memory must be written before CheckpointHook (VERY_LOW) saves it.
    priority = 'ABOVE_NORMAL'

    def __init__(self, alpha_T: float = 0.8, mode: str = 'snapshot',
                 snapshot_interval: Optional[int] = None, snapshot_mode: str = 'eval') -> None:
        if not 0 <= alpha_T <= 1:
            raise ValueError(f'alpha_T must be in [0, 1] (the official default is 0.8), got {alpha_T}.')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}.')
        if snapshot_interval is not None:
            if mode != 'snapshot':
                raise ValueError("snapshot_interval applies to mode='snapshot' only; remove it.")
            if not isinstance(snapshot_interval, int) or snapshot_interval < 1:
                raise ValueError(f'snapshot_interval must be a positive number of iterations, got '
                                 f'{snapshot_interval!r}.')
        check_snapshot_mode(snapshot_mode)
        if snapshot_mode != 'eval' and mode != 'snapshot':
            raise ValueError("snapshot_mode applies to mode='snapshot' only (the memory keeps the training "
                             'forward\'s predictions already); remove it.')
        self.alpha_T = alpha_T
        self.mode = mode
        self.snapshot_mode = snapshot_mode
        self.snapshot_interval = snapshot_interval
        self.alpha = 0.0
        self.snapshot: Optional[nn.Module] = None
        self.snapshot_iter = -1  # the iteration the snapshot was taken at; -1: none yet
        self.memory: Optional[PredictionMemory] = None
        self.loss: Optional[nn.Module] = None
        self.provider: Optional[PastPredictions] = None  # attached to ``self.loss`` by ``attach``
        self._handles = []
        self._roi_head_name: Optional[str] = None

    @staticmethod
    def student(runner) -> nn.Module:
        """The model the hook softens: ``runner.model`` unwrapped, or an algorithm's student."""
        model = unwrap(runner.model)
        return student_of(model, model)

    def before_train(self, runner) -> None:
        if not is_distill_runner(type(runner)):
            runner.logger.warning(
                "PSKDHook runs under a plain Runner: the run trains, but without the plugin's ReseedHook a resumed "
                "epoch-based run does not continue exactly. Set runner_type = 'DistillRunner' in the config (or "
                '--cfg-options runner_type=DistillRunner).')
        self.by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        fresh = runner.iter == 0  # not resumed (``load_from`` alone also starts PS-KD afresh)
        if self.mode == 'snapshot':
            self.interval = self.snapshot_interval or (None if self.by_epoch else self._pass_length(runner))
            if fresh:
                self.snapshot_iter = -1
        elif self.memory is None or fresh:
            self._check_memory_dataset(runner.train_dataloader.dataset)
            self.memory = PredictionMemory(len(runner.train_dataloader.dataset))
        self.attach(unwrap(runner.model))
        every = ('every epoch' if self.by_epoch else 'every iteration')
        snap = (f', snapshot every {self.interval} iterations' if getattr(self, 'interval', None)
                else ', snapshot every epoch' if self.mode == 'snapshot' else '')
        if self.mode == 'snapshot':
            snap += f', snapshot run in {self.snapshot_mode} mode'
        runner.logger.info(f'PSKDHook: mode={self.mode}, alpha_T={self.alpha_T} (alpha set {every}'
                           f'{snap}), loss {type(self.loss).__name__}.')

    @staticmethod
    def _check_memory_dataset(dataset) -> None:
        from mmengine.dataset import ConcatDataset
        if isinstance(dataset, ConcatDataset):
            raise ValueError(
                "PSKDHook(mode='memory') keys its rows by sample_idx, which starts again at 0 in each "
                'dataset of a ConcatDataset, so samples of different datasets would share rows. Train on '
                "one dataset, or use mode='snapshot'.")

    def after_train(self, runner) -> None:
        self.detach()

    def attach(self, model: nn.Module) -> None:
        """Find the student's PS-KD loss, make the snapshot (snapshot mode), attach the loss's provider.

        ``model`` is the unwrapped model the runner trains: the student itself, or an MMRazor
        algorithm whose ``architecture`` is the student. Its ``data_preprocessor`` output is the batch
        the provider sees, the one ``train_step`` hands to the forward.
        """
        student = student_of(model, model)
        loss = self._find_loss(student)
        if self.mode == 'snapshot':
            self._ensure_snapshot(student)
        self.detach()
        self.loss = loss
        if self.mode == 'memory':
            provider = MemoryProvider(lambda: self.alpha, lambda: self.memory)
        elif self._roi_head_name is not None:
            provider = RoISnapshotProvider(lambda: self.alpha, self._taken_snapshot, student,
                                           self._roi_head_name, owner=type(loss).__name__,
                                           snapshot_mode=self.snapshot_mode)
        else:
            provider = SnapshotProvider(lambda: self.alpha, self._taken_snapshot, owner=type(loss).__name__,
                                        snapshot_mode=self.snapshot_mode)
        loss.attach_provider(provider)
        self.provider = provider
        preprocessor = getattr(model, 'data_preprocessor', None)
        if not isinstance(preprocessor, nn.Module):
            raise TypeError(f'PSKDHook reads each batch from the model\'s data_preprocessor; '
                            f'{type(model).__name__} has none (an MMEngine BaseModel has one).')

        def see_batch(module: nn.Module, args: tuple, output) -> None:
            if student.training:  # a training batch; evaluation batches are not the loss's
                if not isinstance(output, dict) or 'inputs' not in output:
                    raise TypeError(f'PSKDHook expects {type(module).__name__} to return a dict with '
                                    f"'inputs' and 'data_samples', as MMEngine's preprocessors do.")
                provider.start_batch(output['inputs'], output.get('data_samples'))
        self._handles = [preprocessor.register_forward_hook(see_batch)]

    def _taken_snapshot(self) -> Optional[nn.Module]:
        """The frozen snapshot, or None before the first one is taken (the loss then uses the labels)."""
        return self.snapshot if self.snapshot_iter >= 0 else None

    def detach(self) -> None:
        """Remove the provider from the loss and anything the hook put on the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self.provider is not None:
            self.provider.close()
            if self.loss is not None and self.loss.provider is self.provider:
                self.loss.attach_provider(None)
            self.provider = None

    def _find_loss(self, student: nn.Module) -> nn.Module:
        found = [(name, m) for name, m in student.named_modules() if isinstance(m, PSKDTargetsMixin)]
        if len(found) != 1:
            names = [name for name, _ in found]
            raise ValueError(
                f'PSKDHook needs exactly one PS-KD loss in the student, found {names or "none"}. Replace '
                "the CE of the head to soften, e.g. decode_head.loss_decode=dict(type='mmrazor.PSKDLoss') "
                "(mmseg), bbox_head.loss_cls=dict(type='mmrazor.PSKDFocalLoss', use_sigmoid=True, ...) "
                '(RetinaNet); auxiliary heads keep their CrossEntropyLoss.')
        name, loss = found[0]
        self._roi_head_name = None
        if self.mode == 'memory' and not loss.supports_memory:
            raise ValueError(f"PSKDHook(mode='memory') keeps one (C,) row per sample, for classifiers; "
                             f"{name} ({type(loss).__name__}) is a detection loss: use mode='snapshot'.")
        roi_head_name = self._enclosing_roi_head(student, name)
        if self.mode == 'snapshot' and loss.snapshot_source == 'roi_head':
            if roi_head_name is None:
                raise ValueError(f"{name} has snapshot_source='roi_head' but is not inside an RoI head (a "
                                 "module with bbox_roi_extractor); use snapshot_source='outputs'.")
            roi_head = student.get_submodule(roi_head_name)
            if hasattr(roi_head, 'num_stages'):
                raise NotImplementedError(
                    f'{roi_head_name} is a {type(roi_head).__name__}; PSKDHook runs the snapshot '
                    "on the student's sampled RoIs for a single-stage RoI head (StandardRoIHead: Faster "
                    'R-CNN, Mask R-CNN) only.')
            self._roi_head_name = roi_head_name
        elif self.mode == 'snapshot' and roi_head_name is not None:
            raise ValueError(f"{name} is the loss of an RoI head, whose snapshot logits must come from the "
                             "student's sampled RoIs: set snapshot_source='roi_head' in its config.")
        for head_name, head in student.named_modules():
            decode = getattr(head, 'loss_decode', None)
            members = list(decode) if isinstance(decode, nn.ModuleList) else [decode]
            if any(m is loss for m in members) and hasattr(head, 'align_corners') \
                    and head.align_corners != getattr(loss, 'align_corners', head.align_corners):
                raise ValueError(f'{name}.align_corners={loss.align_corners} but {head_name}.align_corners='
                                 f'{head.align_corners}; set the loss\'s to the head\'s, so that the '
                                 'snapshot logits are upsampled like the student\'s.')
        return loss

    @staticmethod
    def _enclosing_roi_head(student: nn.Module, loss_name: str) -> Optional[str]:
        """The name of the nearest module above ``loss_name`` that extracts RoI features, or None."""
        parts = loss_name.split('.')
        for end in range(len(parts) - 1, 0, -1):
            name = '.'.join(parts[:end])
            if hasattr(student.get_submodule(name), 'bbox_roi_extractor'):
                return name
        return None

    def _ensure_snapshot(self, student: nn.Module) -> None:
        if self.snapshot is not None:
            return
        # The snapshot's losses get no provider (they never run: the snapshot is only asked for
        # outputs, features and RoI logits); the memo keeps the student's provider out of the copy.
        memo = {id(m.provider): None for m in student.modules()
                if isinstance(m, PSKDTargetsMixin) and m.provider is not None}
        snapshot = copy.deepcopy(student, memo)
        for module in snapshot.modules():  # hooks copied from the student (recorders, ours) must not run
            for attr in ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks'):
                getattr(module, attr).clear()
            if isinstance(module, PSKDTargetsMixin):
                module.attach_provider(None)
        self.snapshot = snapshot.requires_grad_(False).eval()

    @staticmethod
    def _pass_length(runner) -> int:
        loader = runner.train_dataloader
        if loader.batch_size is None:
            return len(loader)
        return max(1, math.ceil(len(loader.dataset) / (loader.batch_size * get_world_size())))

    def before_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        self.alpha = self.alpha_T * (runner.epoch + 1) / runner.max_epochs
        if self.mode == 'snapshot' and self.interval is None and runner.epoch > 0:
            # A snapshot of this epoch's start restored from a mid-epoch checkpoint is the right one;
            # the student's weights now are not (they are some iterations into the epoch).
            if self.snapshot_iter < runner.epoch * len(runner.train_dataloader):
                self.take_snapshot(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            self.alpha = self.alpha_T * (runner.iter + 1) / runner.max_iters
        if self.mode == 'snapshot' and self.interval and runner.iter > 0 \
                and runner.iter % self.interval == 0:
            self.take_snapshot(runner)
        runner.message_hub.update_scalar('train/pskd_alpha', self.alpha)

    def take_snapshot(self, runner) -> None:
        """Copy the student's current weights and buffers into the frozen snapshot."""
        self.snapshot.load_state_dict(self.student(runner).state_dict())
        self.snapshot.eval()
        self.snapshot_iter = runner.iter

    @staticmethod
    def sample_indices(data_samples) -> Tensor:
        """The ``sample_idx`` of each data sample, as an int64 tensor (clear error if missing)."""
        return sample_indices(data_samples)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.provider is not None:  # the memory written (before CheckpointHook saves it), levels checked
            self.provider.end_step()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(mode=self.mode, alpha_T=self.alpha_T, alpha=self.alpha,
                     snapshot_iter=self.snapshot_iter)
        if self.snapshot is not None and self.snapshot_iter >= 0:
            state['snapshot'] = {k: v.detach().cpu() for k, v in self.snapshot.state_dict().items()}
        if self.memory is not None:
            state['memory'] = self.memory.state_dict()
        checkpoint['pskd'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('pskd')
        if state is None or not runner._resume:
            return
        if state['mode'] != self.mode:
            raise ValueError(f"the checkpoint was trained with PSKDHook(mode={state['mode']!r}), this run "
                             f'has mode={self.mode!r}; resume with the same mode.')
        self.alpha = state['alpha']
        self.snapshot_iter = state['snapshot_iter']
        if 'snapshot' in state:
            self._ensure_snapshot(self.student(runner))
            self.snapshot.load_state_dict(state['snapshot'])
        if 'memory' in state:
            self.memory = PredictionMemory(len(runner.train_dataloader.dataset))
            self.memory.load_state_dict(state['memory'])
