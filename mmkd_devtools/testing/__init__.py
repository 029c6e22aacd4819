"""Helpers to step configs offline on tiny packed batches (tests and tools/check_config.py)."""
from .batches import packed_batch_for, packed_det_batch, packed_seg_batch
from .smoke import clear_pretrained, offline_model_cfg, smoke_train_step, write_random_teacher

__all__ = ['packed_batch_for', 'packed_det_batch', 'packed_seg_batch', 'clear_pretrained',
           'offline_model_cfg', 'smoke_train_step', 'write_random_teacher']
