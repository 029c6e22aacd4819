"""Convert a distillation checkpoint into a student-only checkpoint.

A distillation checkpoint holds the student (``architecture.*``), the teacher (``teacher.*``), the
distiller's own modules (``distiller.*``), the optimizer and the loop state. The student checkpoint
keeps only the student's weights, without the prefix, and the ``meta`` (dataset classes, epoch,
iteration), so that the unmodified student config loads it strictly and the stock mmdet/mmseg
``tools/test.py`` and deployment tools use it (MMRazor users asked for this in #76, #571, #594).
"""
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.runner.checkpoint import _load_checkpoint

from ..models.utils import extract_state_dict
from ..models.utils.student import STUDENT_PREFIX

STUDENT_SUFFIX = '_student.pth'


def is_student_checkpoint_path(path: str) -> bool:
    return path.endswith(STUDENT_SUFFIX)


def student_checkpoint_path(path: str) -> str:
    """``work_dir/epoch_12.pth`` -> ``work_dir/epoch_12_student.pth``."""
    root, _ = osp.splitext(path)
    return root + STUDENT_SUFFIX


def student_checkpoint(checkpoint: dict, source: str = '') -> dict:
    """The student-only checkpoint dict of a loaded distillation checkpoint.

    Raises:
        ValueError: if the checkpoint holds no ``architecture.*`` weights (not a distillation run).
    """
    state = extract_state_dict(checkpoint)
    student = {k[len(STUDENT_PREFIX):]: v for k, v in state.items() if k.startswith(STUDENT_PREFIX)}
    if not student:
        raise ValueError(
            f'{source or "checkpoint"} has no `{STUDENT_PREFIX}*` weights, so it is not a '
            'distillation checkpoint; a plain mmdet/mmseg checkpoint is already student-only.')
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k != 'cfg'}
    meta['mmkd_plugin'] = dict(exported_from=osp.basename(source) if source else None)
    return dict(meta=meta, state_dict=student)


def student_config_path(path: str) -> str:
    """``work_dir/epoch_12_student.pth`` -> ``work_dir/epoch_12_student.py``."""
    return osp.splitext(path)[0] + '.py'


def export_student(src: str, dst: Optional[str] = None) -> str:
    """Write the student-only checkpoint of ``src`` to ``dst`` (default ``<src>_student.pth``; missing
    folders are created), and the student's resolved config next to it (``<dst>.py``, see
    ``student_config``) when ``src`` holds the run's config."""
    from .student_config import student_config
    dst = dst or student_checkpoint_path(src)
    checkpoint = _load_checkpoint(src, map_location='cpu')
    student = student_checkpoint(checkpoint, src)
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(student, dst)
    cfg_text = checkpoint.get('meta', {}).get('cfg')
    cfg = student_config(cfg_text) if isinstance(cfg_text, str) else None
    if cfg is not None:
        cfg.dump(student_config_path(dst))
    return dst
