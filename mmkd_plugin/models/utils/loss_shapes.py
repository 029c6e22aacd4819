"""Student and teacher inputs of a loss that compares them position by position: same shape, or say why.

MMRazor's losses (CWD, KL, L2, MGD, PKD, ...) answer a student and a teacher map of different shapes with a
bare ``AssertionError`` or a tensor-size ``RuntimeError``. :func:`arm_shape_checks` hooks each loss of a
distiller whose class needs equal shapes (:func:`paired_losses`) to check its inputs at its first call, after
the connectors, once. A mismatch stops with the loss, both shapes, both recorders and the fix: a resize
(``ResizedLoss``) for sizes; a connector or a loss with its own projection for feature channels; for class
logits of heads with different class counts, that the class sets differ and cannot be compared.
"""
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

# What a loss lets differ between a student and a teacher tensor: 'size' (dims 2:), 'channels' (dim 1).
Allowed = Callable[[nn.Module, dict, Tensor, Tensor], Tuple[str, ...]]


def _nothing(loss, kwargs, pred_S, pred_T) -> Tuple[str, ...]:
    return ()


def paired_losses() -> Dict[type, Tuple[str, str, Allowed]]:
    """``{loss class: (student argument, teacher argument, what its forward lets differ)}``.

    Losses not listed (relational ones, ACAM-KD with its projection, MGD's connector-side generation, ...)
    are not checked; ``ResizedLoss`` is checked when the loss it wraps is listed.
    """
    from mmrazor.models import losses as razor

    from ..losses import NKDLoss

    def pkd(loss, kwargs, pred_S, pred_T):  # PKD resizes itself when the heights differ
        return ('size',) if pred_S.shape[2:3] != pred_T.shape[2:3] else ()

    def nkd(loss, kwargs, pred_S, pred_T):  # NKD resizes segmentation logits when asked to
        labels = kwargs.get('gt_labels')
        seg = isinstance(labels, Tensor) and pred_S.dim() == 4 and labels.dim() in (3, 4)
        return ('size',) if loss.resize and seg else ()

    preds, feats = ('preds_S', 'preds_T'), ('s_feature', 't_feature')
    table = {cls: (*preds, _nothing) for cls in (
        razor.ChannelWiseDivergence, razor.KLDivergence, razor.CrossEntropyLoss, razor.DKDLoss,
        razor.KDSoftCELoss, razor.MGDLoss)}
    table.update({cls: (*feats, _nothing) for cls in (razor.L1Loss, razor.L2Loss, razor.ABLoss, razor.OFDLoss,
                                                       razor.FTLoss)})
    table.update({razor.ATLoss: (*feats, lambda *_: ('channels',)),  # compares spatial maps
                  razor.DISTLoss: ('logits_S', 'logits_T', _nothing), razor.WSLD: ('student', 'teacher', _nothing),
                  razor.PKDLoss: (*preds, pkd), NKDLoss: (*preds, nkd)})
    return table


def _rule(loss: nn.Module, table) -> Optional[Tuple[str, str, Allowed]]:
    from ..losses import ResizedLoss
    if isinstance(loss, ResizedLoss):  # resizes, then calls the wrapped loss positionally
        inner = _rule(loss.loss, table)
        if inner is None:
            return None
        return 'preds_S', 'preds_T', lambda m, kwargs, s, t: ('size', *inner[2](m.loss, kwargs, s, t))
    return next((rule for cls, rule in table.items() if isinstance(loss, cls)), None)


def _mismatches(shape_S, shape_T, allowed) -> List[str]:
    if len(shape_S) != len(shape_T) or not shape_S or shape_S[0] != shape_T[0]:
        return ['shape'] if shape_S != shape_T else []
    found = []
    if len(shape_S) >= 2 and shape_S[1] != shape_T[1] and 'channels' not in allowed:
        found.append('channels')
    if len(shape_S) >= 3 and shape_S[2:] != shape_T[2:] and 'size' not in allowed:
        found.append('size')
    return found


def _logit_widths(head: nn.Module) -> set:
    """The channel counts of ``head``'s class logits (softmax or sigmoid, per anchor or not)."""
    widths = {head.num_classes, head.num_classes + 1}
    for name in ('out_channels', 'cls_out_channels'):
        if isinstance(getattr(head, name, None), int):
            widths.add(getattr(head, name))
    if isinstance(getattr(head, 'cls_out_channels', None), int) and isinstance(
            getattr(head, 'num_base_priors', None), int):
        widths.add(head.cls_out_channels * head.num_base_priors)
    return widths


def _class_head(model: nn.Module, recorder, channels: int) -> Optional[Tuple[str, nn.Module]]:
    """The head (a module with ``num_classes``) whose class logits the recorder holds, if they are logits."""
    modules = dict(model.named_modules())
    if recorder.source in modules:  # the recorded module or the nearest module above it
        parts = recorder.source.split('.')
        candidates = [('.'.join(parts[:i]), modules['.'.join(parts[:i])]) for i in range(len(parts), 0, -1)]
    elif hasattr(recorder, 'imported_class'):  # a method recorder: the modules of that class
        candidates = [(n, m) for n, m in modules.items() if isinstance(m, recorder.imported_class)]
    else:
        candidates = []
    return next(((n, m) for n, m in candidates if isinstance(getattr(m, 'num_classes', None), int)
                 and channels in _logit_widths(m)), None)


def _side(distiller, source, model: nn.Module, role: str, arg: str):
    """``(description, recorder or None)`` of one input of a loss."""
    if not isinstance(source, Mapping) or 'recorder' not in source:
        return f'{role} argument {arg!r}', None
    manager = distiller.student_recorders if source['from_student'] else distiller.teacher_recorders
    recorder = manager.get_recorder(source['recorder'])
    where = f"{role}_recorders[{source['recorder']!r}] ({type(recorder).__name__} on {recorder.source!r}"
    owner = recorder.source.split('.')[0]
    if owner in model._modules:
        where += f", in the {role}'s {type(model._modules[owner]).__name__}"
    where += ''.join(f', {k}={source[k]}' for k in ('record_idx', 'data_idx') if source.get(k) is not None)
    if source.get('connector'):
        where += f", after connector {source['connector']!r}"
    return where + ')', recorder


def check_pair(distiller, name: str, kwargs: dict, student: nn.Module, teacher: nn.Module, table) -> None:
    """Raise ``ValueError`` if loss ``name``'s student and teacher inputs differ where it cannot take it."""
    loss = distiller.distill_losses[name]
    arg_S, arg_T, allowed = _rule(loss, table)
    values = [kwargs.get(arg_S), kwargs.get(arg_T)]
    if not all(isinstance(v, (Tensor, list, tuple)) for v in values):
        return
    pairs = list(zip(*[(v,) if isinstance(v, Tensor) else v for v in values]))
    if not all(isinstance(t, Tensor) for pair in pairs for t in pair):
        return
    mapping = distiller.loss_forward_mappings[name]
    for level, (pred_S, pred_T) in enumerate(pairs):
        found = _mismatches(tuple(pred_S.shape), tuple(pred_T.shape), allowed(loss, kwargs, pred_S, pred_T))
        if not found:
            continue
        where_S, rec_S = _side(distiller, mapping.get(arg_S), student, 'student', arg_S)
        where_T, rec_T = _side(distiller, mapping.get(arg_T), teacher, 'teacher', arg_T)
        part = f'[{level}]' if len(pairs) > 1 else ''
        raise ValueError(
            f'distill_losses[{name!r}] ({type(loss).__name__}) compares {arg_S}{part} and {arg_T}{part} position '
            f'by position, but the student gives {tuple(pred_S.shape)} from {where_S} and the teacher '
            f'{tuple(pred_T.shape)} from {where_T}. '
            + ' '.join(_fix(kind, distiller, name, loss, arg_S, mapping.get(arg_S), pred_S.shape, pred_T.shape,
                            (student, rec_S), (teacher, rec_T)) for kind in found))


def _fix(kind, distiller, name, loss, arg_S, source_S, shape_S, shape_T, student, teacher) -> str:
    if kind == 'shape':
        return ('They differ in rank or in the first (batch or row) dimension: record the same layer and the '
                'same call of both models (record_idx, data_idx).')
    if kind == 'size':
        size_S, size_T = 'x'.join(map(str, shape_S[2:])), 'x'.join(map(str, shape_T[2:]))
        if hasattr(loss, 'resize'):
            return (f"Their sizes differ ({size_S} vs {size_T}): set resize='teacher' (the teacher's map is "
                    f"resized to the student's) or resize='student' on {type(loss).__name__}.")
        return (f'Their sizes differ ({size_S} vs {size_T}): resize one to the other with '
                f"distill_losses[{name!r}] = dict(type='ResizedLoss', loss=dict(type='{type(loss).__name__}', "
                "...), resize='teacher') (or resize='student'), or record layers of the same stride.")
    c_S, c_T = shape_S[1], shape_T[1]
    heads = [_class_head(model, rec, c) if rec is not None else None
             for (model, rec), c in ((student, c_S), (teacher, c_T))]
    if all(heads) and heads[0][1].num_classes != heads[1][1].num_classes:
        (n_S, h_S), (n_T, h_T) = heads
        return (f"These are class logits: the student's {n_S} ({type(h_S).__name__}) predicts "
                f"{h_S.num_classes} classes, the teacher's {n_T} ({type(h_T).__name__}) {h_T.num_classes}. The "
                'class sets differ, so the logits cannot be compared class by class (no connector or resize makes '
                "them comparable): use a teacher trained on the student's classes, or distil features (backbone "
                'or neck) instead of logits.')
    levels = ' (in a PerLevelDistiller: level_connectors and level_mappings)' if hasattr(
        distiller, 'num_levels') else ''
    connector = (source_S or {}).get('connector')
    if connector:
        project = f'make connector {connector!r} output {c_T} channels'
    elif len(shape_S) == 4:
        project = (f"add a connector on the student's side, e.g. connectors=dict(s_proj=dict("
                   f"type='ConvModuleConnector', in_channel={c_S}, out_channel={c_T}, act_cfg=None)) with "
                   f"connector='s_proj' in loss_forward_mappings[{name!r}][{arg_S!r}]{levels}")
    else:
        project = f"add a connector from {c_S} to {c_T} channels on the student's side{levels}"
    return (f'Their channels differ ({c_S} vs {c_T}): {project}, or use a loss with its own projection '
            f'(ACAMKDLoss(student_channels={c_S}, teacher_channels={c_T}, ...)). If the two are not the same '
            'quantity, record layers that are.')


def _contiguous(module, args, kwargs):
    """Forward pre-hook: the loss's tensor inputs in contiguous memory (a no-op for contiguous ones)."""
    def fix(x):
        return x.contiguous() if torch.is_tensor(x) else x
    return tuple(fix(a) for a in args), {k: fix(v) for k, v in kwargs.items()}


def arm_shape_checks(distiller, student: nn.Module, teacher: Optional[nn.Module]) -> None:
    """Hook every loss of ``distiller`` that needs equal shapes to :func:`check_pair` its first call's
    inputs (after the connectors), then unhook; and, for good, to receive contiguous tensors (MMRazor's
    CWD and others call ``.view``, which fails on channels-last maps such as SegFormer's ``conv_seg``
    output). Idempotent: the distiller is armed once."""
    if getattr(distiller, '_mmkd_shape_checks', False):
        return
    distiller._mmkd_shape_checks = True
    table = paired_losses()
    for name in distiller.loss_forward_mappings:
        loss = distiller.distill_losses[name]
        if _rule(loss, table) is None:
            continue
        handle = []

        def first_call(module, args, kwargs, name=name, handle=handle):
            handle[0].remove()
            check_pair(distiller, name, kwargs, student, teacher if teacher is not None else student, table)

        handle.append(loss.register_forward_pre_hook(first_call, with_kwargs=True))
        loss.register_forward_pre_hook(_contiguous, with_kwargs=True)
