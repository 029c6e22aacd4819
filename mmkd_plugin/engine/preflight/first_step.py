"""One distillation step on one real batch: is each distillation loss finite, does it reach the student, how
large is it next to the task loss, and what does the step cost next to the student's own step?

Run on the batch as the training step runs it (train mode, ``data_preprocessor(batch, training=True)``,
inside the optimizer wrapper's context, e.g. autocast). Gradients are taken with ``torch.autograd.grad``
with respect to the parameters, never ``backward()``: no ``.grad`` is written, and no DDP hook fires.

- finite: each distillation term (a key with ``loss`` in its name that is not the student's ``student.*``);
- gradient: the gradient of each term alone with respect to the student's trainable parameters (and the
  distiller's: a term that trains only the distiller's modules, e.g. a mask regulariser, is shown as such).
  A term whose graph reaches no student parameter and gives the distiller none is refused (a recorder on
  a detached tensor, or on one computed under ``no_grad``); a term whose graph reaches the student but
  whose gradient is exactly zero at this step is a warning (``loss_weight=0``, or a loss that vanishes
  on this batch: no positive sample at its level, a spatial softmax over a 1x1 map);
- magnitude: each term divided by the student's task loss (the student alone, its own ``loss`` forward, on
  the same batch); outside ``loss_ratio`` a warning names both values;
- cost: one timed distillation step (forward, then the gradient of the summed loss with respect to the
  student and distiller parameters) against one timed student step (its own loss, its parameters),
  after one untimed call of each; wall-clock seconds, CUDA synchronised.
"""
import contextlib
import copy
import math
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

TASK_PREFIX = 'student.'


class Term(NamedTuple):
    """One distillation loss at step 1: its value, the norms of its gradient (student's, None when its graph
    reaches no student parameter; distiller's) and its loss module's ``loss_weight`` where it has one."""
    name: str
    value: float
    student_grad: Optional[float]
    distiller_grad: float
    loss_weight: Optional[float] = None


class FirstStep(NamedTuple):
    """What the first step showed; ``shapes`` maps ``(recorder kind, name, record_idx, data_idx)`` to a shape."""
    terms: List[Term]
    task_loss: float
    distill_seconds: float
    student_seconds: float
    shapes: Dict[Tuple, Tuple[int, ...]]


def _sum(value) -> Tensor:
    """A loss entry (a tensor or mmdet's per-level list) as one scalar, as ``BaseModel.parse_losses`` does."""
    if isinstance(value, Tensor):
        return value.mean()
    return sum(v.mean() for v in value)


def _loss_terms(losses: Dict[str, object]) -> Dict[str, Tensor]:
    return {k: _sum(v) for k, v in losses.items() if 'loss' in k}


def _grad_norm(loss: Tensor, params: List[Tensor], scale: float) -> List[Optional[float]]:
    """The L2 norm of d(loss)/d(params), per parameter; None where the graph does not reach it."""
    if not loss.requires_grad or not params:
        return [None] * len(params)
    grads = torch.autograd.grad(loss * scale, params, retain_graph=True, allow_unused=True)
    return [None if g is None else float(g.detach().float().norm()) / scale for g in grads]


def _norm(values: List[Optional[float]]) -> Optional[float]:
    """The norm of the reached parameters' norms; None if none is reached."""
    reached = [v for v in values if v is not None]
    return math.sqrt(sum(v * v for v in reached)) if reached else None


def _loss_weight(distiller: nn.Module, name: str) -> Optional[float]:
    losses, key = getattr(distiller, 'distill_losses', None), name.split('.', 1)[-1]
    weight = getattr(losses[key], 'loss_weight', None) if losses is not None and key in losses else None
    return float(weight) if isinstance(weight, (int, float)) else None


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _timed(fn: Callable[[], object]) -> float:
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - start


def _recorded_shapes(distiller: nn.Module) -> Dict[Tuple, Tuple[int, ...]]:
    """The shape of every record a loss mapping reads, as recorded in the last distillation forward."""
    shapes = {}
    for mapping in (getattr(distiller, 'loss_forward_mappings', None) or {}).values():
        for spec in mapping.values():
            if not isinstance(spec, dict) or 'recorder' not in spec:
                continue
            kind = 'student' if spec.get('from_student') else 'teacher'
            key = (kind, spec['recorder'], spec.get('record_idx', 0), spec.get('data_idx'))
            manager = getattr(distiller, f'{kind}_recorders', None)
            try:
                record = manager.get_recorder(spec['recorder']).get_record_data(key[2], key[3])
            except Exception:  # a shape is a nicety: the loss itself already ran
                continue
            if isinstance(record, Tensor):
                shapes[key] = tuple(record.shape)
    return shapes


def first_step(model: nn.Module, batch: dict, context: Optional[Callable] = None,
               grad_scale: float = 1.0) -> FirstStep:
    """Run the checks of the module docstring on ``batch`` (collated, unpreprocessed) with ``model``.

    Args:
        model: a distillation algorithm (``architecture``, ``distiller``, ``data_preprocessor``), unwrapped.
        context: a callable returning the context the training step runs in (the optimizer wrapper's
            ``optim_context``); none by default.
        grad_scale: the loss is multiplied by this before differentiation and the norms divided by it
            (an fp16 loss scaler's scale keeps small gradients from underflowing to zero).

    Returns:
        The terms, the task loss, the two timings and the recorded shapes. The caller restores the model
        (``state.preserved_state``): the forwards update BN statistics.
    """
    context = context or contextlib.nullcontext
    student = model.architecture
    student_params = [p for p in student.parameters() if p.requires_grad]
    distiller_params = [p for p in model.distiller.parameters() if p.requires_grad]
    model.train()
    data = model.data_preprocessor(batch, True)

    def student_step() -> Tensor:
        with context():
            total = sum(_loss_terms(student(data['inputs'], copy.deepcopy(data['data_samples']), mode='loss'))
                        .values())
        _grad_norm(total, student_params, grad_scale)
        return total

    def distill_losses() -> Dict[str, Tensor]:
        with context():
            return _loss_terms(model(data['inputs'], copy.deepcopy(data['data_samples']), mode='loss'))

    def distill_step() -> None:
        _grad_norm(sum(distill_losses().values()), student_params + distiller_params, grad_scale)

    task = float(student_step().detach())  # also the untimed student call
    losses = distill_losses()  # also the untimed distillation call
    shapes = _recorded_shapes(model.distiller)
    terms = []
    for name, value in losses.items():
        if name.startswith(TASK_PREFIX):
            continue
        norms = _grad_norm(value, student_params + distiller_params, grad_scale) if torch.isfinite(
            value.detach()).all() else [math.nan] * (len(student_params) + len(distiller_params))
        terms.append(Term(name, float(value.detach().float()), _norm(norms[:len(student_params)]),
                          _norm(norms[len(student_params):]) or 0.0, _loss_weight(model.distiller, name)))
    del losses
    student_seconds = _timed(student_step)
    distill_seconds = _timed(distill_step)
    return FirstStep(terms, task, distill_seconds, student_seconds, shapes)


def problems_and_warnings(step: FirstStep, loss_ratio: Tuple[float, float]) -> Tuple[List[str], List[str]]:
    """Refusals (non-finite terms, terms reaching no parameter) and warnings (magnitudes off the task's)."""
    problems, warnings = [], []
    lo, hi = loss_ratio
    for term in step.terms:
        if not math.isfinite(term.value):
            problems.append(f'{term.name} is {term.value} at the first step (task loss {step.task_loss:.4g}): lower '
                            "its loss_weight or check its inputs (recorders, connectors); nonfinite_loss='skip' "
                            'would skip every such step')
        elif term.student_grad is None and not term.distiller_grad:
            problems.append(f'{term.name} ({term.value:.4g}) gives the student no gradient: its graph reaches no '
                            'student parameter (its student recorder reads a detached tensor, or one computed under '
                            'no_grad). Record a module output of the student that the task loss trains')
        elif term.student_grad == 0 and not term.distiller_grad:
            why = ('its loss_weight is 0' if term.loss_weight == 0 else
                   'it vanishes on this batch (e.g. no positive sample at its level, a softmax over a 1x1 map, '
                   'identical student and teacher outputs)')
            warnings.append(f'{term.name} ({term.value:.4g}) gives the student a zero gradient at the first step: '
                            f'{why}. Remove it or change its loss_weight / level if it should train the student')
        if math.isfinite(term.value) and term.student_grad and step.task_loss and math.isfinite(step.task_loss):
            ratio = abs(term.value) / abs(step.task_loss)
            if not lo <= ratio <= hi:
                warnings.append(f'{term.name} is {term.value:.4g}, {ratio:.3g} x the task loss {step.task_loss:.4g} '
                                f'at the first step (outside [{lo:g}, {hi:g}]): check its loss_weight')
    return problems, warnings
