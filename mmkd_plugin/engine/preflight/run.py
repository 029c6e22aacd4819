"""The preflight itself: the checks in order, the summary, the refusal. Callers gather the inputs
(``hook.py`` from a Runner, ``tools/check_config.py`` offline).

Order: classes (a refusal here stops before anything runs: the first step would fail on the shapes or
train on mismatched classes), the teacher's metric on the first N validation images, the first step.
Every problem found is listed in one ``PreflightError``; warnings are logged and the run goes on. The
model and the random generators are left as they were (``state.preserved_state``).
"""
import logging
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from mmengine.logging import print_log
from torch import nn

from . import agreement, first_step, metafile, summary, teacher_quality
from .samples import batches
from .settings import PreflightError
from .state import preserved_state

SKIP_HINT = 'To train anyway: preflight.skip=True (tools/train.py --no-preflight).'


class Report(NamedTuple):
    """What the preflight found: the summary's ``text``, the teacher's ``metric`` (key, value) on the N images
    (None when not evaluated), the ``first_step`` (None when it did not run), ``warnings`` and ``problems``."""
    text: str
    metric: Optional[Tuple[str, float]]
    first_step: Optional[first_step.FirstStep]
    warnings: List[str]
    problems: List[str]


class ValData(NamedTuple):
    """The validation images and the run's evaluator (``dataset_meta`` set)."""
    dataset: object
    batch_size: int
    collate_fn: Optional[Callable]
    evaluator: object


def _references(settings: dict, key: Optional[str], stock: Sequence[Optional[str]]) -> Dict[str, tuple]:
    teacher_path, student_path = stock
    expected = settings['teacher_metric']['expected']
    if expected is not None:
        expected = (float(expected), 'preflight.teacher_metric.expected')
    elif key and metafile.published_metric(teacher_path, key) is not None:
        expected = (metafile.published_metric(teacher_path, key), f'metafile of {metafile.config_name(teacher_path)}')
    baseline = settings['student_baseline']
    if baseline is not None:
        baseline = (float(baseline), 'preflight.student_baseline')
    elif key and metafile.published_metric(student_path, key) is not None:
        baseline = (metafile.published_metric(student_path, key), f'metafile of {metafile.config_name(student_path)}')
    return {'expected': expected or (None, ''), 'student baseline': baseline or (None, '')}


def _teacher(model: nn.Module, settings: dict, val: Optional[ValData], classes: agreement.Agreement,
             stock: Sequence[Optional[str]], judge_teacher: bool, not_judged: str,
             geometry_note: Optional[str]) -> Tuple[teacher_quality.Verdict, Optional[Tuple[str, float]]]:
    """The teacher's verdict and its (key, value) on the N images (None when not evaluated)."""
    if not classes.same_classes:
        return teacher_quality.Verdict('teacher: not evaluated (other classes than the student\'s)', None), None
    if val is None:
        return teacher_quality.Verdict(f'teacher: not evaluated ({not_judged or "no validation data"})', None), None
    count = min(settings['num_images'], len(val.dataset))
    metrics = teacher_quality.evaluate_teacher(model, batches(val.dataset, count, val.batch_size, val.collate_fn),
                                               val.evaluator)
    key = teacher_quality.main_key(val.evaluator, metrics, settings['teacher_metric']['key'])
    if key is None:
        return teacher_quality.Verdict('teacher: no metric (the evaluator reported none)', None), None
    note = ''
    if key not in metrics:
        if settings['teacher_metric']['key'] and metrics:
            raise PreflightError(f'preflight.teacher_metric.key={key!r} is not a key of the evaluator\'s metrics '
                                 f'{sorted(metrics)}; name one of them.')
        metrics[key], note = 0.0, ' (nothing predicted)'  # e.g. no box above the score threshold
    if not judge_teacher:
        line = teacher_quality.metric_line(key, metrics[key], count) + note
        return teacher_quality.Verdict(f'{line}; not judged ({not_judged})', None), (key, metrics[key])
    verdict = teacher_quality.judge(key, metrics[key], count, _references(settings, key, stock),
                                    settings['teacher_metric']['min_ratio'], geometry_note, note)
    return verdict, (key, metrics[key])


def run_preflight(model: nn.Module, train_batch: dict, settings: dict, *, val: Optional[ValData] = None,
                  student_classes: Optional[Sequence[str]] = None, teacher_classes: Optional[Sequence[str]] = None,
                  stock: Sequence[Optional[str]] = (None, None), judge_teacher: bool = True, not_judged: str = '',
                  context: Optional[Callable] = None, grad_scale: float = 1.0,
                  batch_note: str = 'the first training images') -> Report:
    """Check a distillation model before its first step; log the summary and return what was found.

    Args:
        model: the distillation algorithm (unwrapped: ``architecture``, ``teacher``, ``distiller``).
        train_batch: one collated training batch (not preprocessed).
        settings: ``settings.read_settings`` of the config's ``preflight``.
        val: the validation images and evaluator; None: the teacher is not evaluated (``not_judged`` says why).
        student_classes, teacher_classes: the datasets' class names where known.
        stock: the ``pkg::path`` of the teacher's and the student's stock configs (their metafile values).
        judge_teacher: False: the teacher's metric is reported, never refused (a teacher with random weights).
        context, grad_scale: as ``first_step.first_step`` (the optimizer wrapper's context and loss scale).
        batch_note: what ``train_batch`` is, for the summary.

    Raises:
        PreflightError: listing each problem (classes, the teacher's metric, a non-finite loss, a loss that
            reaches no parameter) with its fix; its ``report`` is the ``Report``.
    """
    classes = agreement.class_agreement(model, student_classes, teacher_classes)
    input_line, geometry_note = agreement.input_lines(model)
    head = [classes.line, input_line] + ([geometry_note] if geometry_note else [])
    step, metric, warnings, problems = None, None, [], []
    if classes.problem:
        problems.append(classes.problem)
    else:
        with preserved_state(model):
            verdict, metric = _teacher(model, settings, val, classes, stock, judge_teacher, not_judged, geometry_note)
            step = first_step.first_step(model, train_batch, context, grad_scale)
        head.append(verdict.line)
        problems += [verdict.problem] if verdict.problem else []
        step_problems, warnings = first_step.problems_and_warnings(step, settings['loss_ratio'])
        problems += step_problems
    text = summary.summary_text(model, head, step, batch_note, warnings, problems)
    print_log(text, logger='current')
    for warning in warnings:
        print_log(f'preflight: {warning}', logger='current', level=logging.WARNING)
    report = Report(text, metric, step, warnings, problems)
    if problems:
        listed = '\n'.join(f'  {i + 1}. {p}' for i, p in enumerate(problems))
        error = PreflightError(f'the preflight refused this distillation run before its first step:\n{listed}\n'
                               + SKIP_HINT)
        error.report = report
        raise error
    return report
