"""Evaluate the teacher alone on a few validation images with the student config's own metric, and judge it.

The teacher predicts as the distillation feeds it: each batch goes through the student's data
preprocessor (``training=False``), then ``TeacherInputs`` (the teacher's normalisation), then
``teacher(..., mode='predict')`` in eval mode without gradient. The predictions go to a fresh copy of the
run's evaluator (its metrics' state is never shared with the run's validation).

Only the images seen are scored: a COCO-style metric (``img_ids``) is restricted to them, otherwise the
annotations of the images left out would count as missed. The metrics are computed in this process
(``compute_metrics``), not gathered across processes: under DDP every process evaluates the same images and
reaches the same verdict.
"""
import contextlib
import copy
import io
import logging
from typing import Dict, Iterable, List, NamedTuple, Optional

import torch
from mmengine.logging import MMLogger
from torch import nn

# Evaluator keys judged when preflight.teacher_metric.key is None, in this order.
MAIN_KEYS = ('coco/bbox_mAP', 'coco/segm_mAP', 'mIoU', 'pascal_voc/mAP', 'cityscapes/mAP')


def evaluate_teacher(model: nn.Module, batches: Iterable[dict], evaluator) -> Dict[str, float]:
    """The metrics of ``model.teacher`` on ``batches`` (collated, unpreprocessed), by ``evaluator``.

    Args:
        model: a distillation algorithm (``data_preprocessor``, ``teacher_inputs``, ``teacher``).
        batches: the data loader's batches (``inputs``, ``data_samples``).
        evaluator: an MMEngine ``Evaluator`` with ``dataset_meta`` set; it is copied, not used.

    Returns:
        The evaluator's metrics with their prefixes (``coco/bbox_mAP``...), in its units; an empty dict
        when nothing was predicted at all (e.g. no box above the score threshold).
    """
    evaluator = copy.deepcopy(evaluator)
    teacher = model.teacher
    modes = [(m, m.training) for m in teacher.modules()]
    teacher.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                data = model.data_preprocessor(batch, False)
                inputs = model.teacher_inputs(data['inputs'], data['data_samples'])
                outputs = teacher(inputs, data['data_samples'], mode='predict')
                evaluator.process(data_samples=outputs, data_batch=batch)
    finally:
        for module, training in modes:
            module.training = training
    return _compute(evaluator)


def _compute(evaluator) -> Dict[str, float]:
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # COCO's tables, and its 'results ... empty' when nothing was predicted
    metrics = {}
    try:
        for metric in evaluator.metrics:
            results: List = metric.results
            if not results:
                continue
            if hasattr(metric, 'img_ids'):
                ids = [r[0]['img_id'] for r in results
                       if isinstance(r, tuple) and isinstance(r[0], dict) and 'img_id' in r[0]]
                metric.img_ids = sorted(set(ids)) if ids else metric.img_ids
            with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints
                values = metric.compute_metrics(results)
            prefix = getattr(metric, 'prefix', None)
            metrics.update({f'{prefix}/{k}' if prefix else k: v for k, v in values.items()})
            metric.results.clear()
    finally:
        logger.setLevel(level)
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def main_key(evaluator, metrics: Dict[str, float], key: Optional[str] = None) -> Optional[str]:
    """The key judged: ``key`` if given, else the first of :data:`MAIN_KEYS` the evaluator reports (a COCO
    metric's ``<prefix>/<first metric>_mAP`` even when nothing was predicted), else its first key."""
    if key:
        return key
    for candidate in MAIN_KEYS:
        if candidate in metrics:
            return candidate
    for metric in getattr(evaluator, 'metrics', []):
        names = getattr(metric, 'metrics', None)
        if getattr(metric, 'prefix', None) == 'coco' and names:
            return f'coco/{names[0]}_mAP'
    return next(iter(metrics), None)


class Verdict(NamedTuple):
    """What the summary says about the teacher's metric, and the refusal (None when it passes or is not judged)."""
    line: str
    problem: Optional[str]


def metric_line(key: str, value: float, num_images: int) -> str:
    return f'teacher: {key} {value:.4g} on the first {num_images} validation images'


def judge(key: str, value: float, num_images: int, references: Dict[str, tuple], min_ratio: float,
          geometry_note: Optional[str] = None, note: str = '') -> Verdict:
    """Compare the teacher's ``value`` of ``key`` on ``num_images`` images with each reference.

    Args:
        references: ``{'expected': (value, where it comes from), 'student baseline': (...)}``; a value of
            None is not judged.
        min_ratio: refused when ``value < min_ratio * reference``.
        geometry_note: the teacher's padding/size difference, named among the causes.
        note: shown after the value (``' (nothing predicted)'``).
    """
    line = metric_line(key, value, num_images) + note
    given = {name: ref for name, ref in references.items() if ref[0] is not None}
    if not given:
        return Verdict(line + '; not judged (no preflight.teacher_metric.expected, no metafile entry)', None)
    failed, parts = [], []
    for name, (reference, source) in given.items():
        floor = min_ratio * reference
        parts.append(f'{name} {reference:.4g} ({source}), floor {floor:.4g}')
        if value < floor:
            failed.append(f'{value:.4g} < {min_ratio:g} x {name} {reference:.4g} ({source})')
    line += '; ' + '; '.join(parts) + (': REFUSED' if failed else ': ok')
    if not failed:
        return Verdict(line, None)
    causes = ['teacher_ckpt (is it the checkpoint the teacher config was trained to?)',
              "the teacher config's dataset and classes (the student's val set must be its task)",
              "its data_preprocessor's normalisation (mean, std, bgr_to_rgb)"]
    if geometry_note:
        causes.append(geometry_note)
    problem = (f'the teacher scores {key} {"; ".join(failed)} on the first {num_images} validation images: it is '
               f'far below what it should be and would teach the student its errors. Check: {"; ".join(causes)}. '
               'If the teacher is right (a few images are noisy): raise preflight.num_images, set '
               'preflight.teacher_metric.expected or min_ratio')
    return Verdict(line, problem)
