"""The preflight of a config without a Runner, for ``tools/check_config.py --preflight``.

The model is built offline as for the smoke step (``smoke_model``). The teacher loads the config's
``teacher_ckpt`` where that is a file on this machine; otherwise it has random weights, and its metric is
reported, not judged. The first step runs on the generated packed batch (no training data needed). The
teacher is evaluated on the first N images of the config's ``val_dataloader`` when its data is on this
machine, otherwise not at all.
"""
import copy
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import DATASETS, FUNCTIONS, DefaultScope

from mmkd_plugin.engine.preflight import ValData, read_settings, run_preflight
from mmkd_plugin.engine.preflight.agreement import config_classes, teacher_config_classes
from mmkd_plugin.engine.preflight.metafile import stock_config_paths
from .smoke import has_real_teacher, smoke_model


def offline_val_data(cfg: Config) -> Tuple[Optional[ValData], str]:
    """The config's validation set and evaluator, or None and why (no ``val_dataloader``, data missing)."""
    loader, evaluator = cfg.get('val_dataloader'), cfg.get('val_evaluator')
    if not loader or not evaluator:
        return None, 'the config has no val_dataloader and val_evaluator'
    try:
        dataset = DATASETS.build(copy.deepcopy(loader['dataset']))
    except (FileNotFoundError, OSError) as e:
        return None, f'no validation data on this machine ({e})'
    collate = loader.get('collate_fn')
    collate_fn = FUNCTIONS.get(collate['type']) if isinstance(collate, dict) else pseudo_collate
    evaluator = Evaluator(copy.deepcopy(evaluator if isinstance(evaluator, list) else [evaluator]))
    evaluator.dataset_meta = dataset.metainfo
    return ValData(dataset, int(loader.get('batch_size', 1)), collate_fn, evaluator), ''


def smoke_preflight(cfg: Config, work_dir: str, det_size=(96, 128), seg_size=(64, 128)) -> Optional[str]:
    """The preflight's summary for ``cfg`` (None for a config without a teacher).

    Raises:
        PreflightError: as in a run, except that a teacher with random weights is never refused.
    """
    settings = read_settings(cfg.get('preflight'))
    real = has_real_teacher(cfg)
    model, batch = smoke_model(cfg, work_dir, det_size, seg_size, real_teacher=True)
    if not hasattr(model, 'teacher') or not hasattr(model, 'distiller'):
        return None
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        val, why = offline_val_data(cfg)
        not_judged = why or 'the teacher has random weights: teacher_ckpt is not a file on this machine'
        return run_preflight(
            model, batch, settings, val=val, student_classes=config_classes(cfg),
            teacher_classes=teacher_config_classes(cfg.model.get('teacher')), stock=stock_config_paths(cfg),
            judge_teacher=real and val is not None, not_judged=not_judged,
            batch_note=f'a generated batch of {len(batch["inputs"])} images, offline')
