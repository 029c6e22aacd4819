"""Compute MCMI's class centroids in one pass over the training set before the teacher is fine-tuned.

Ye et al., ICLR 2024 (arXiv 2401.08732): the official code computes Q_y = E[P_X | Y = y] once, over the
whole training loader (with its augmentation), and keeps it fixed during fine-tuning (``centroid.py``,
``FineTuneTeacher.py``). It does so in train mode (BatchNorm on batch statistics, updating its running
statistics); the default here is eval mode, which leaves the pretrained teacher untouched.
"""
import math
from typing import List, Optional

import torch
from mmengine.dataset import DefaultSampler
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.utils import ProgressBar
from torch import nn
from torch.utils.data import DataLoader

from ...models.utils.student import unwrap
from ...models.losses.mcmi import CentroidStatistics, MCMILoss

CENTROID_MODES = ('eval', 'train')


def mcmi_losses(model: nn.Module) -> List[MCMILoss]:
    """The ``MCMILoss`` modules of a model (wrapper or not).

    Raises:
        ValueError: the model has none.
    """
    model = unwrap(model)
    losses = [m for m in model.modules() if isinstance(m, MCMILoss)]
    if not losses:
        raise ValueError('No MCMILoss in the model: MCMI centroids are computed for the MCMILoss of an MCMI '
                         'fine-tuning config (configs/mcmi); add one to distiller.distill_losses.')
    return losses


def one_pass_loader(loader: DataLoader) -> DataLoader:
    """A loader over ``loader``'s dataset, pipeline and batch size that visits each sample once across the
    ranks (the training loader may use an infinite or shuffling sampler)."""
    sampler = DefaultSampler(loader.dataset, shuffle=False, round_up=False)
    # mmdet's loaders batch through a batch sampler (AspectRatioBatchSampler): batch_size is None there
    batch_size = loader.batch_size or getattr(loader.batch_sampler, 'batch_size', 1)
    return DataLoader(loader.dataset, batch_size=batch_size, sampler=sampler, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, worker_init_fn=loader.worker_init_fn)


def batches_per_rank(loader: DataLoader) -> int:
    """The most batches any rank gets from a ``one_pass_loader`` (ranks may differ by one)."""
    per_rank = math.ceil(len(loader.dataset) / get_world_size())
    return math.ceil(per_rank / loader.batch_size)


@torch.no_grad()
def collect_mcmi_statistics(model: nn.Module, loader: DataLoader, mode: str = 'eval',
                            store: bool = True) -> List[CentroidStatistics]:
    """Run ``model`` over ``loader`` once in ``mode='loss'`` with every MCMILoss collecting, summed over ranks.

    Args:
        model: an MCMI fine-tuning algorithm (``MCMIFineTune``), wrapped or not.
        loader: the data; use ``one_pass_loader`` for an exact pass.
        mode: ``'eval'`` (default) or ``'train'`` (the official code's: BatchNorm on batch statistics).
        store: make the statistics the losses' centroids (False: only measure, e.g. the CMI tool).

    Returns:
        One ``CentroidStatistics`` per MCMILoss (``.centroids()``, ``.cmi()``).
    """
    if mode not in CENTROID_MODES:
        raise ValueError(f'mode must be one of {CENTROID_MODES}, got {mode!r}.')
    model = unwrap(model)
    losses = mcmi_losses(model)
    was_training = model.training
    model.train(mode == 'train')
    for loss in losses:
        loss.start_collecting()
    # Every rank runs the same number of forwards, so that collectives inside them (SyncBN, the
    # reduce_mean of some detection losses) stay matched: a rank with one batch fewer repeats its last
    # batch with the statistics set aside.
    total = batches_per_rank(loader) if isinstance(getattr(loader, 'sampler', None), DefaultSampler) else len(loader)
    bar = ProgressBar(total) if is_main_process() else None
    iterator, last = iter(loader), None
    try:
        for _ in range(total):
            data = next(iterator, None)
            repeat = data is None
            data = last if repeat else data
            if data is None:  # this rank has no sample at all
                break
            last = data
            if repeat:  # the statistics set aside: this batch was counted already
                kept = [loss._statistics for loss in losses]
                for loss in losses:
                    loss._statistics = CentroidStatistics(loss.num_classes, loss.centroids.device)
            model(**model.data_preprocessor(data, True), mode='loss')
            if repeat:
                for loss, statistics in zip(losses, kept):
                    loss._statistics = statistics
            if bar is not None:
                bar.update()
    except BaseException:
        for loss in losses:
            loss._statistics = None
        raise
    finally:
        model.train(was_training)
    return [loss.finish_collecting(store=store) for loss in losses]


@HOOKS.register_module()
class MCMICentroidHook(Hook):
    """Before fine-tuning, fill every ``MCMILoss``'s centroids from one pass over the training set.

    The pass uses the training dataset and pipeline (as the official code does) with a sampler that visits
    each image once across the ranks; the per-class sums are added over the ranks, so every rank gets the
    same centroids. The centroids live in the loss's buffers: they are saved in each checkpoint, and a
    resumed run (``--resume``) finds them restored and skips the pass.

    Args:
        mode: ``'eval'`` (default; BatchNorm uses and keeps its running statistics) or ``'train'`` (the
            official code's: batch statistics, running statistics updated by the pass; a last batch of one
            image then fails in BatchNorm layers that pool to 1x1, such as DeepLabV3's image pooling).

    Raises:
        ValueError: an unknown mode, or a model without MCMILoss.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'NORMAL'

    def __init__(self, mode: str = 'eval') -> None:
        if mode not in CENTROID_MODES:
            raise ValueError(f'mode must be one of {CENTROID_MODES}, got {mode!r}.')
        self.mode = mode
        self.cmi: Optional[float] = None

    def before_train(self, runner) -> None:
        losses = mcmi_losses(runner.model)
        if all(bool(loss.centroids_ready) for loss in losses):
            print_log('MCMI: class centroids restored from the checkpoint; no centroid pass.', logger='current')
            return
        loader = one_pass_loader(runner.train_dataloader)
        print_log(f'MCMI: computing the class centroids over the {len(loader.dataset)} training samples '
                  f'({self.mode} mode, {get_world_size()} process(es))...', logger='current')
        statistics = collect_mcmi_statistics(runner.model, loader, self.mode)
        self.cmi = statistics[0].cmi()
        counts = statistics[0].counts
        print_log(f'MCMI: centroids from {int(counts.sum())} labelled rows ({int((counts > 0).sum())} of '
                  f'{counts.numel()} classes seen); CMI of the teacher before fine-tuning: {self.cmi:.4f} nats.',
                  logger='current')
