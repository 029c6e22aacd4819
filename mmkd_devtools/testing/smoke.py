"""Build any config's model offline and run one training step at a tiny input size.

MMRazor's shipped configs drifted because nothing ran them; this is what the test suite (and
``tools/check_config.py``) runs on every config under ``configs/``. Nothing is downloaded: pretrained
``init_cfg``s are cleared, and a distillation config's teacher gets a checkpoint written from its own
randomly initialised weights, so that the strict teacher loading runs for real.
"""
import copy
import logging
import os.path as osp
from typing import Dict, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import HOOKS, DefaultScope, MODELS

from mmkd_plugin.engine.config_hooks import hook_cfgs, hook_type
from mmkd_plugin.engine.hooks.mcmi_centroid_hook import collect_mcmi_statistics
from mmkd_plugin.engine.optimizers import for_distillation
from mmkd_plugin.models.losses.mcmi import MCMILoss
from mmkd_plugin.models.utils import resolve_model_cfg
from .batches import packed_batch_for

SEG_TYPES = ('EncoderDecoder', 'CascadeEncoderDecoder')


def clear_pretrained(cfg: ConfigDict) -> None:
    """Remove every ``init_cfg=Pretrained`` / ``pretrained=...`` (they download), recursively.

    A typeless ``init_cfg`` with a ``checkpoint`` goes too: PVT's ``init_weights`` loads it whatever its type.
    """
    if isinstance(cfg, dict):
        init_cfg = cfg.get('init_cfg')
        if isinstance(init_cfg, dict) and (init_cfg.get('type') == 'Pretrained'
                                           or ('type' not in init_cfg and 'checkpoint' in init_cfg)):
            cfg['init_cfg'] = None
        if isinstance(cfg.get('pretrained'), str):
            cfg['pretrained'] = None
        for value in cfg.values():
            clear_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            clear_pretrained(value)


def is_distillation(model_cfg: ConfigDict) -> bool:
    return 'teacher' in model_cfg and 'architecture' in model_cfg


def fine_tunes_a_teacher(model_cfg: ConfigDict) -> bool:
    """A teacher fine-tuning algorithm (MCMI): its ``architecture`` loads ``teacher_ckpt``."""
    return 'teacher_ckpt' in model_cfg and 'teacher' not in model_cfg and 'architecture' in model_cfg


def write_random_teacher(model_cfg: ConfigDict, path: str, key: str = 'teacher') -> str:
    """Save a randomly initialised model built from ``model_cfg[key]`` (the teacher) to ``path``."""
    teacher_cfg = resolve_model_cfg(copy.deepcopy(model_cfg[key]), 'teacher')
    clear_pretrained(teacher_cfg)
    teacher = MODELS.build(teacher_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no per-parameter report for a throw-away teacher
    try:
        teacher.init_weights()
    finally:
        logger.setLevel(level)
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict()), path)
    return path


def _student_cfg(model_cfg: ConfigDict) -> ConfigDict:
    """The student's model config: an algorithm's ``architecture`` (teacher or not), else the model."""
    return model_cfg.architecture if 'architecture' in model_cfg else model_cfg


def student_type(model_cfg: ConfigDict) -> str:
    """The student's model type (an algorithm's ``architecture``, read from its ``cfg_path`` where it has one)."""
    student = _student_cfg(model_cfg)
    if 'cfg_path' in student and 'type' not in student:
        student = resolve_model_cfg(student, 'student')
    return student.type


def has_real_teacher(cfg: Config) -> bool:
    """Whether ``cfg`` is a distillation config whose ``teacher_ckpt`` is a file on this machine."""
    return is_distillation(cfg.model) and osp.isfile(str(cfg.model.get('teacher_ckpt') or ''))


def offline_model_cfg(cfg: Config, work_dir: str, seg_size=(64, 128), real_teacher: bool = False) -> ConfigDict:
    """``cfg.model`` made buildable offline (teacher checkpoint written into ``work_dir``; with
    ``real_teacher``, the config's own ``teacher_ckpt`` where it is a local file)."""
    model_cfg = copy.deepcopy(cfg.model)
    clear_pretrained(model_cfg)
    if is_distillation(model_cfg) and not (real_teacher and has_real_teacher(cfg)):
        model_cfg.teacher_ckpt = write_random_teacher(model_cfg, osp.join(work_dir, 'teacher.pth'))
    elif fine_tunes_a_teacher(model_cfg):
        model_cfg.teacher_ckpt = write_random_teacher(model_cfg, osp.join(work_dir, 'teacher.pth'),
                                                      'architecture')
    if student_type(model_cfg) in SEG_TYPES:
        # mmseg pads every input to the config's crop size; keep the step tiny.
        target = _student_cfg(model_cfg)
        if target.get('data_preprocessor') is not None:
            target.data_preprocessor.size = seg_size
        if model_cfg.get('data_preprocessor') is not None:
            model_cfg.data_preprocessor.size = seg_size
        if model_cfg.get('teacher') is not None:  # the same size for the teacher: no padding warning
            teacher = resolve_model_cfg(model_cfg.teacher, 'teacher')
            if isinstance(teacher, ConfigDict) and teacher.get('data_preprocessor') is not None:
                teacher.data_preprocessor.size = seg_size
                model_cfg.teacher = teacher
    return model_cfg


def smoke_model(cfg: Config, work_dir: str, det_size=(96, 128), seg_size=(64, 128),
                real_teacher: bool = False) -> Tuple[torch.nn.Module, Dict]:
    """``cfg.model`` built offline and initialised, with the hooks that act on it attached, and a packed batch.

    ``real_teacher``: a distillation teacher loads the config's ``teacher_ckpt`` where it is a local file
    (``has_real_teacher``) instead of a checkpoint of its own random weights.
    """
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        model_cfg = offline_model_cfg(cfg, work_dir, seg_size, real_teacher)
        model = MODELS.build(model_cfg)
        model.init_weights()
        for hook_cfg in hook_cfgs(cfg):  # hooks that act on the model (PSKDHook) as a Runner's
            if hasattr(HOOKS.get(hook_type(hook_cfg)), 'attach'):
                HOOKS.build(copy.deepcopy(hook_cfg)).attach(model)
        batch = packed_batch_for(model, det_size, seg_size)
        if any(isinstance(m, MCMILoss) for m in model.modules()):  # MCMICentroidHook's pass, on this batch
            collect_mcmi_statistics(model, [batch])
    return model, batch


def smoke_train_step(cfg: Config, work_dir: str, det_size=(96, 128), seg_size=(64, 128), built=None) -> Dict:
    """Build ``cfg.model`` offline, run one ``train_step`` on a packed batch, return the log vars.

    96x128 is about the smallest detection input at which DCN backbones run on CPU (mmcv refuses a
    stride-32 map smaller than the 3x3 kernel). ``built``: ``smoke_model``'s ``(model, batch)``, to step a
    model the caller has already built (and hooked).
    """
    model, batch = built or smoke_model(cfg, work_dir, det_size, seg_size)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        optim_wrapper = build_optim_wrapper(model, for_distillation(model, copy.deepcopy(cfg.optim_wrapper)))
        model.train()
        hub = MessageHub.get_current_instance()
        for key in ('iter', 'epoch'):  # read by batch augments (YOLOX's BatchSyncRandomResize) and TOOD's
            if hub.get_info(key) is None:  # warm-up switch, as in a run
                hub.update_info(key, 0)
        return model.train_step(batch, optim_wrapper)
