"""The preflight's one-screen summary: what was paired, the teacher's metric, each loss at step 1, the cost.

    preflight of TeacherDistill (teacher_forward='feat'); skip it with preflight.skip=True or ...
      paired (loss (class): argument=model recorder source[data index] shape):
        loss_cwd_p3 (ChannelWiseDivergence): preds_S=student neck[0] (4, 64, 16, 16), preds_T=teacher ...
      classes: teacher 3 (square, disk, triangle) = student 3 (square, disk, triangle)
      inputs: same normalisation for both
      teacher: coco/bbox_mAP ... on the first 8 validation images; expected ... (...), floor ...: ok
      step 1 (the first 4 training images, training pipeline): task loss ... (the student alone)
        distill.loss_cwd_p3  ...  ... x task  |grad| student ... distiller 0
      step cost: distillation ... s, student alone ... s: ...x (one timed step each, forward and gradient)
      result: ok

(docs/preflight.md shows a real one.)
"""
from typing import List, Optional, Sequence

from torch import nn

from .first_step import FirstStep


def _source(model: nn.Module, spec: dict, step: Optional[FirstStep]) -> str:
    kind = 'student' if spec.get('from_student') else 'teacher'
    manager = getattr(model.distiller, f'{kind}_recorders', None)
    recorder = (getattr(manager, 'recorders', None) or {}).get(spec['recorder'])
    text = f"{kind} {getattr(recorder, 'source', spec['recorder'])}"
    record_idx, data_idx = spec.get('record_idx', 0), spec.get('data_idx')
    text += f'#{record_idx}' if record_idx else ''
    text += f'[{data_idx}]' if data_idx is not None else ''
    shape = (step.shapes if step else {}).get((kind, spec['recorder'], record_idx, data_idx))
    return text + (f' {shape}' if shape else '')


def pairing_lines(model: nn.Module, step: Optional[FirstStep]) -> List[str]:
    """One line per distillation loss: its class and, per argument, the recorder's model, source and shape."""
    distiller = model.distiller
    losses = getattr(distiller, 'distill_losses', {}) or {}
    lines = []
    for name, mapping in (getattr(distiller, 'loss_forward_mappings', None) or {}).items():
        args = [f'{arg}={_source(model, spec, step)}' for arg, spec in mapping.items()
                if isinstance(spec, dict) and 'recorder' in spec]
        kind = type(losses[name]).__name__ if name in losses else '?'
        lines.append(f'{name} ({kind}): ' + ', '.join(args))
    return lines


def step_lines(step: FirstStep, batch_note: str) -> List[str]:
    """Each distillation term at step 1 next to the task loss, and the step's cost."""
    lines = [f'step 1 ({batch_note}): task loss {step.task_loss:.4g} (the student alone)']
    width = max((len(t.name) for t in step.terms), default=0)
    for term in step.terms:
        ratio = abs(term.value) / abs(step.task_loss) if step.task_loss else float('nan')
        student = 'unreached' if term.student_grad is None else f'{term.student_grad:.2g}'
        lines.append(f'  {term.name:<{width}}  {term.value:.4g}  {ratio:.1e} x task  |grad| student '
                     f'{student} distiller {term.distiller_grad:.2g}')
    ratio = step.distill_seconds / step.student_seconds if step.student_seconds else float('nan')
    lines.append(f'step cost: distillation {step.distill_seconds:.3g} s, student alone {step.student_seconds:.3g} s: '
                 f'{ratio:.2f}x (one timed step each, forward and gradient)')
    return lines


def summary_text(model: nn.Module, head: Sequence[str], step: Optional[FirstStep], batch_note: str,
                 warnings: Sequence[str], problems: Sequence[str]) -> str:
    """The whole summary: title, pairs, ``head`` (classes, inputs, teacher lines), step 1, cost, result."""
    title = (f'preflight of {type(model).__name__} (teacher_forward={getattr(model, "teacher_forward", None)!r}); '
             'skip it with preflight.skip=True or tools/train.py --no-preflight')
    body = ['paired (loss (class): argument=model recorder source[data index] shape):']
    body += [f'  {line}' for line in pairing_lines(model, step)] + list(head)
    if step is not None:
        body += step_lines(step, batch_note)
    result = 'REFUSED' if problems else 'ok'
    if warnings:
        result += f' with {len(warnings)} warning(s)'
    body += [f'warning: {w}' for w in warnings] + [f'result: {result}']
    return '\n'.join([title] + ['  ' + line for line in body])
