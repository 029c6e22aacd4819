"""What a distillation algorithm does with a checkpoint loaded into it (``load_from``, ``--resume``).

- A plain model checkpoint (no ``architecture.*`` keys, e.g. a student trained alone or a zoo model)
  given as ``load_from`` initialises the student: its keys are mapped to ``architecture.*`` and the
  count of matched tensors is logged (MMEngine would load nothing and warn about every key).
- ``teacher.*`` keys of a distillation checkpoint never replace the teacher that ``teacher_ckpt``
  loaded strictly; when they differ from it, a warning says so and how to use them instead.

``--resume`` from a plain model checkpoint is refused before anything loads
(``DistillRunner.resume``, ``mmkd_plugin/engine/runner/resume_check.py``).
"""
import logging

import torch
from mmengine.logging import print_log
from torch import nn

from .student import STUDENT_PREFIX as STUDENT
from .student import TEACHER_PREFIX as TEACHER


def _remap(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    if prefix:
        return  # only the algorithm's own (root) load
    keys = [k for k in state_dict if isinstance(k, str)]
    module._mmkd_ignored = []
    if keys and not any(k.startswith(STUDENT) for k in keys):
        student_keys = set(module.architecture.state_dict())
        matched = [k for k in keys if k in student_keys]
        if matched:
            for key in keys:
                state_dict[STUDENT + key] = state_dict.pop(key)
            print_log(f'Loaded a plain model checkpoint into the student: {len(matched)} of '
                      f'{len(student_keys)} student tensors matched by name; the teacher and the '
                      'distiller keep their own weights.', logger='current')
            module._mmkd_ignored.append('distiller.')
    teacher_keys = [k for k in state_dict if isinstance(k, str) and k.startswith(TEACHER)]
    if teacher_keys and isinstance(getattr(module, 'teacher', None), nn.Module):
        current = module.teacher.state_dict()
        differ = [k for k in teacher_keys if k[len(TEACHER):] not in current
                  or not torch.equal(state_dict[k].cpu(), current[k[len(TEACHER):]].cpu())]
        for key in teacher_keys:
            state_dict.pop(key)
        if differ:
            print_log(f'The checkpoint holds a teacher that differs from the one loaded from teacher_ckpt '
                      f'({len(differ)} of {len(teacher_keys)} tensors); the teacher stays as teacher_ckpt '
                      'loaded it. To distil from the checkpoint\'s teacher, set teacher_ckpt to that file.',
                      logger='current', level=logging.WARNING)
    module._mmkd_ignored.append(TEACHER)


def _drop_reported(module: nn.Module, incompatible) -> None:
    prefixes = tuple(getattr(module, '_mmkd_ignored', ()))
    if prefixes:
        incompatible.missing_keys[:] = [k for k in incompatible.missing_keys if not k.startswith(prefixes)]


def handle_loaded_checkpoints(algorithm: nn.Module) -> None:
    """Register the behaviour of this module's docstring on ``algorithm``."""
    algorithm.register_load_state_dict_pre_hook(_remap)
    algorithm.register_load_state_dict_post_hook(_drop_reported)
