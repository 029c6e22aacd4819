"""The ``preflight`` config key: its defaults, its checks, and the error a refused run stops with.

    preflight = dict(
        skip=False,                  # True (tools/train.py --no-preflight): no preflight
        num_images=8,                # the first N images of val_dataloader the teacher is evaluated on
        teacher_metric=dict(
            key=None,                # the evaluator's key judged; None: coco/bbox_mAP, mIoU, ... (the first found)
            expected=None,           # the teacher's metric, in the evaluator's units; None: its metafile's
            min_ratio=0.5),          # refused below min_ratio x the expected value (and x student_baseline)
        student_baseline=None,       # the student's metric trained alone, evaluator's units; None: its metafile's
        loss_ratio=(1e-3, 1e3),      # a distillation loss outside [lo, hi] x the task loss at step 1: a warning
        on_resume=False)             # also run it when a run resumes (--resume)

A config sets only the keys it changes (``preflight = dict(num_images=16)``, ``--cfg-options
preflight.teacher_metric.expected=0.7``); the rest keep these defaults.
"""
import copy
from typing import Any, Dict, Optional

DEFAULTS: Dict[str, Any] = dict(
    skip=False,
    num_images=8,
    teacher_metric=dict(key=None, expected=None, min_ratio=0.5),
    student_baseline=None,
    loss_ratio=(1e-3, 1e3),
    on_resume=False)


class PreflightError(RuntimeError):
    """A distillation run refused before its first step; the message names each problem and its fix.

    ``report``: the preflight's ``run.Report`` (its summary, the teacher's metric, the first step).
    """

    report = None


def read_settings(cfg: Optional[dict]) -> Dict[str, Any]:
    """``cfg`` (the config's ``preflight``, or None) merged over :data:`DEFAULTS`, as a plain dict.

    Raises:
        ValueError: an unknown key (the known ones are named), ``num_images`` below 1, ``min_ratio``
            outside [0, 1], or a ``loss_ratio`` that is not ``(lo, hi)`` with ``0 < lo < hi``.
    """
    settings = copy.deepcopy(DEFAULTS)
    for key, value in dict(cfg or {}).items():
        if key not in DEFAULTS:
            raise ValueError(f'preflight.{key} is not a preflight setting; the settings are {sorted(DEFAULTS)}.')
        if key == 'teacher_metric':
            for sub, sub_value in dict(value or {}).items():
                if sub not in DEFAULTS['teacher_metric']:
                    raise ValueError(f'preflight.teacher_metric.{sub} is not a setting; the settings are '
                                     f"{sorted(DEFAULTS['teacher_metric'])}.")
                settings['teacher_metric'][sub] = sub_value
        else:
            settings[key] = value
    if int(settings['num_images']) < 1:
        raise ValueError(f"preflight.num_images must be >= 1, got {settings['num_images']}.")
    settings['num_images'] = int(settings['num_images'])
    ratio = settings['teacher_metric']['min_ratio']
    if not 0 <= float(ratio) <= 1:
        raise ValueError(f'preflight.teacher_metric.min_ratio must be in [0, 1], got {ratio}.')
    bounds = settings['loss_ratio']
    if len(tuple(bounds)) != 2 or not 0 < float(bounds[0]) < float(bounds[1]):
        raise ValueError(f'preflight.loss_ratio must be (lo, hi) with 0 < lo < hi, got {bounds}.')
    settings['loss_ratio'] = (float(bounds[0]), float(bounds[1]))
    return settings
