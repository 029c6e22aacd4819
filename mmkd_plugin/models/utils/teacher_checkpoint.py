"""Load a teacher checkpoint strictly and report every mismatch key by key.

MMRazor loads ``teacher_ckpt`` with ``strict=False`` and only logs a warning, so a teacher whose
classes or architecture differ from its checkpoint trains students silently against random weights
(open-mmlab/mmrazor#456). Here a teacher either matches its checkpoint exactly or the run stops.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from .student import STUDENT_PREFIX

_SHOWN = 10  # keys listed per kind of mismatch


def extract_state_dict(checkpoint: dict, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The model weights of a checkpoint, ``module.`` stripped, optionally only those under ``prefix``."""
    state = checkpoint.get('state_dict', checkpoint)
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def _listing(title: str, keys: List[str]) -> str:
    if not keys:
        return ''
    more = f' ... and {len(keys) - _SHOWN} more' if len(keys) > _SHOWN else ''
    return f'\n  {title} ({len(keys)}): ' + ', '.join(keys[:_SHOWN]) + more


def state_dict_mismatch(model: nn.Module, state: Dict[str, torch.Tensor]) -> str:
    """A readable list of missing, unexpected and wrongly shaped keys; empty if they match."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f'{k} {tuple(state[k].shape)} vs model {tuple(v.shape)}'
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    return (_listing('missing in checkpoint', missing) + _listing('unexpected in checkpoint', unexpected)
            + _listing('shape mismatch', shapes))


def load_teacher_checkpoint(teacher: nn.Module, teacher_ckpt: Optional[str]) -> None:
    """Load ``teacher_ckpt`` into ``teacher`` with every key and shape matching.

    A distillation checkpoint (keys ``architecture.*``) is accepted as a teacher: its student is used.

    Raises:
        ValueError: no checkpoint given, or the checkpoint does not match the teacher config.
        FileNotFoundError: the file does not exist.
    """
    if not teacher_ckpt:
        raise ValueError(
            'teacher_ckpt is not set: a teacher with random weights teaches nothing. Set '
            '`teacher_ckpt` in the config (or --cfg-options model.teacher_ckpt=PATH) to the '
            "checkpoint the teacher config was trained to.")
    if '://' not in teacher_ckpt and not osp.isfile(teacher_ckpt):
        raise FileNotFoundError(f'teacher_ckpt {teacher_ckpt!r} does not exist.')
    checkpoint = CheckpointLoader.load_checkpoint(teacher_ckpt, map_location='cpu', logger='current')
    state = extract_state_dict(checkpoint)
    if any(k.startswith(STUDENT_PREFIX) for k in state):
        state = extract_state_dict(state, prefix=STUDENT_PREFIX)
    mismatch = state_dict_mismatch(teacher, state)
    if mismatch:
        raise ValueError(
            f'teacher_ckpt {teacher_ckpt!r} does not match the teacher config ({type(teacher).__name__}):'
            f'{mismatch}\nUse the config the checkpoint was trained with (same depth, num_classes, '
            'neck and head); mmkd_plugin never loads a teacher with missing or mismatched weights.')
    teacher.load_state_dict(state, strict=True)
    print_log(f'Loaded teacher checkpoint {teacher_ckpt} strictly ({len(state)} tensors).',
              logger='current')


def inherit_modules(student: nn.Module, teacher: nn.Module,
                    names: Sequence[str]) -> Dict[str, Dict[str, torch.Tensor]]:
    """Copy the teacher's ``names`` modules into the student's ("inheritance" initialisation).

    Returns the copied weights per name. ``init_weights()`` of a parent with an ``init_cfg`` (e.g. an
    FPN's Xavier init) overwrites its children whatever their ``_is_init`` says, so the caller must
    load them again after ``init_weights()`` (``TeacherDistill.init_weights`` does).

    Raises:
        ValueError: a name is not a module of both models, or their weights differ in keys or shapes.
    """
    student_modules, teacher_modules = dict(student.named_modules()), dict(teacher.named_modules())
    inherited = {}
    for name in names:
        if name not in student_modules or name not in teacher_modules:
            raise ValueError(f'inherit_from_teacher: {name!r} must name a module of both the student '
                             f'and the teacher (e.g. "neck", "bbox_head").')
        state = teacher_modules[name].state_dict()
        mismatch = state_dict_mismatch(student_modules[name], state)
        if mismatch:
            raise ValueError(f'inherit_from_teacher: the teacher\'s {name!r} does not fit the '
                             f'student\'s:{mismatch}\nInherit only modules of identical shape.')
        student_modules[name].load_state_dict(state, strict=True)
        inherited[name] = {k: v.detach().clone() for k, v in state.items()}
        print_log(f'Student {name!r} initialised from the teacher ({len(state)} tensors).',
                  logger='current')
    return inherited
