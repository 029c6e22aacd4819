"""Reseed the random generators at every epoch from the run's seed, so that a resume is exact.

MMEngine seeds the generators once, when a Runner starts, and does not save their states: after
``--resume`` random augmentations (``RandomFlip``...) and random samplers draw from the start of the
stream again and the run departs from an uninterrupted one. This hook seeds python's, numpy's and
torch's generators (CUDA's too) with ``seed + epoch`` before each training epoch (before its data
iterator is built), so an epoch draws the same numbers whether the run was interrupted before it or
not. Iteration-based loops are seeded with ``seed + iteration`` before each iteration; there MMEngine
skips the already-seen batches on resume by running them through the pipeline again, so the first
resumed batch is drawn before the hook runs and may differ (documented in docs/checkpoints.md).

``DistillRunner`` registers it for every run it trains (``runner_type = 'DistillRunner'``); listing it in
``custom_hooks`` adds nothing there, and gives a plain ``Runner`` the same reseeding.
"""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # all devices, CUDA included


@HOOKS.register_module()
class ReseedHook(Hook):
    """``seed + epoch`` (epoch-based loops) or ``seed + iteration`` (iteration-based) before each.

    Ranks get ``+ rank`` too when the config asks for different seeds per rank
    (``randomness=dict(diff_rank_seed=True)``), as MMEngine's own seeding does.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'VERY_HIGH'

    def _seed(self, runner, offset: int) -> None:
        seed = runner.seed if runner.seed is not None else 0
        if runner._randomness_cfg.get('diff_rank_seed', False):
            seed += get_rank()
        seed_everything(seed + offset)

    def before_train_epoch(self, runner) -> None:
        if getattr(runner.train_loop, '_max_epochs', None) is not None:
            self._seed(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if getattr(runner.train_loop, '_max_epochs', None) is None:
            self._seed(runner, runner.iter)
