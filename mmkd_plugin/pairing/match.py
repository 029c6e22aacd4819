"""Pair a student's and a teacher's maps by stride, for a feature method or a logit method.

Feature methods (ACAM-KD, CWD) compare maps position by position, so a student map is paired with the
teacher map of the same stride (FPN P3 with P3, whatever each neck's index of it); widths may differ (the
loss's own projection or a 1x1 connector aligns them). The sources, in order of preference:

- detection: the necks' outputs when both models have a neck, else the backbones' outputs;
- segmentation: the decode heads' logits (as every shipped Cityscapes config distils), of equal class
  count; strides may differ there, the teacher's logits are then resized to the student's size.

Logit methods (NKD) need the same head on both sides: a one-stage dense head of ``HEAD_LOGITS`` with the
same levels, a two-stage detector's RoI classifier, or a decode head. Anything else is a
:class:`PairingError` that names the module to record by hand and the config lines to write.
"""
from typing import NamedTuple, Optional, Tuple

from ..models.distillers.dense_head_logit_distiller import HEAD_LOGITS
from .probe import Level, PairingError, Probe, Source

FEATURE_METHODS = ('acam_kd', 'cwd')
LOGIT_METHODS = ('nkd',)
METHODS = FEATURE_METHODS + LOGIT_METHODS
SOURCE_KINDS = ('neck', 'backbone', 'logits')


class Pair(NamedTuple):
    """A student level and the teacher level distilled into it."""
    student: Level
    teacher: Level


class Pairing(NamedTuple):
    """What a generated config distils.

    ``kind``: ``'neck'``, ``'backbone'``, ``'logits'``, ``'dense_head'`` (a dense head's classification
    logits per level) or ``'roi'`` (RoI classifier logits); ``student``/``teacher``: the recorded sources;
    ``pairs``: matched levels (for ``'dense_head'`` and ``'roi'``, the levels the head runs on);
    ``resize``: ``'teacher'`` when paired logits differ in stride, else None; ``head``: the head's class
    name for ``'dense_head'``.
    """
    kind: str
    student: Source
    teacher: Source
    pairs: Tuple[Pair, ...]
    resize: Optional[str] = None
    head: Optional[str] = None

    @property
    def aligned(self) -> bool:
        """Level i of the pairing is output i of both sources, for i < len(pairs) (one mapping pattern)."""
        return all(p.student.index == i and p.teacher.index == i for i, p in enumerate(self.pairs))


def _record_by_hand(method: str, lead: str = 'Name', module: Optional[str] = None) -> str:
    """The hand-written route's config lines; ``module``: the module to record on both sides, where known."""
    student, teacher = (module, module) if module else ('<student module>', '<teacher module>')
    idx = ', data_idx=0' if module in ('neck', 'backbone') else ''  # a tuple of levels: one loss per level
    return (
        f'{lead} the modules by hand in a config (README: "Writing a distillation config", the hand-written '
        'route), e.g.:\n'
        "    distiller=dict(type='ConfigurableDistiller',\n"
        f"        student_recorders=dict(feat=dict(type='ModuleOutputs', source='{student}')),\n"
        f"        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='{teacher}')),\n"
        + ("        distill_losses=dict(loss_acam=dict(type='ACAMKDLoss', student_channels=C_S, "
           "teacher_channels=C_T)),\n" if method == 'acam_kd' else
           "        distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)),\n")
        + f"        loss_forward_mappings=dict({'loss_acam' if method == 'acam_kd' else 'loss_cwd'}=dict(\n"
        f"            preds_S=dict(from_student=True, recorder='feat'{idx}),\n"
        f"            preds_T=dict(from_student=False, recorder='feat'{idx}))))\n"
        'with two modules whose outputs are (N, C, H, W) maps of the same stride (or a resize, '
        "ResizedLoss(resize='teacher')).")


def _failures(*probes: Probe) -> str:
    notes = [f'the {p.model_type} probe forward stopped at: {p.failure}' for p in probes if p.failure]
    return (' (' + '; '.join(notes) + ')') if notes else ''


def _describe(source: Source) -> str:
    return ', '.join(f'{source.module}[{lv.index}]: stride {lv.stride}, {lv.channels} ch' for lv in source.levels)


def _by_stride(student: Source, teacher: Source) -> Tuple[Pair, ...]:
    teacher_levels = {}
    for level in teacher.levels:
        teacher_levels.setdefault(level.stride, level)
    return tuple(Pair(level, teacher_levels[level.stride]) for level in student.levels
                 if level.stride in teacher_levels)


def _feature_source(student: Probe, teacher: Probe, method: str, source: Optional[str]) -> str:
    if source is not None:
        if source not in SOURCE_KINDS:
            raise PairingError(f'--source must be one of {SOURCE_KINDS}, got {source!r}.')
        _refuse_unmeasured(source, method, student, teacher)
        for role, probe in (('student', student), ('teacher', teacher)):
            if source not in probe.sources:
                raise PairingError(f'The {role} ({probe.model_type}) has no {source} output with (N, C, H, W) maps '
                                   f'(it has: {sorted(probe.sources) or "none"}).')
        return source
    for kind in (('logits',) if student.task == 'segmentation' else ()) + ('neck', 'backbone'):
        _refuse_unmeasured(kind, method, student, teacher)
        if kind in student.sources and kind in teacher.sources:
            return kind
    return ''


_MODULES = dict(neck='neck', backbone='backbone', logits='decode_head.conv_seg')  # the usual names of each kind


def _refuse_unmeasured(kind: str, method: str, *probes: Probe) -> None:
    """A ``PairingError`` when a model has ``kind`` but its probe forward stopped before it gave an output
    (an op with no kernel on the probe's device, an input the model cannot take): pairing what did run, e.g. the
    backbone in place of the neck, would not be the default the user expects."""
    for role, probe in zip(('student', 'teacher'), probes):
        if kind in probe.unmeasured:
            raise PairingError(
                f'The {role}\'s ({probe.model_type}) probe forward stopped before its {kind} gave an output: '
                f'{probe.failure}\nIf that is an op with no CPU kernel (mmcv\'s CARAFE, deformable RoI pooling), '
                'run tools/distill.py with --probe-device cuda on a machine with a GPU; if the probe image is too '
                'small for the model (a pooling or a position embedding of a fixed size), give a --probe-size it '
                'takes (its training crop); '
                + ('or pass --source backbone to distil the backbones\' stages, which ran (the model itself still '
                   'needs what stopped the probe: to train, and for tools/check_config.py\'s step); '
                   if kind != 'backbone' and all('backbone' in p.sources for p in probes) else '')
                + 'or ' + _record_by_hand(method, 'name', _MODULES.get(kind)))


def _pair_logits(student: Probe, teacher: Probe) -> Pairing:
    s, t = student.sources['logits'], teacher.sources['logits']
    if s.levels[0].channels != t.levels[0].channels:
        raise PairingError(f'The student predicts {s.levels[0].channels} classes ({s.module}) and the teacher '
                           f'{t.levels[0].channels} ({t.module}): logits can only be distilled between the same '
                           'classes. Train the teacher on the student\'s classes, or distil features with '
                           '--source neck/backbone.')
    resize = None if s.levels[0].stride == t.levels[0].stride else 'teacher'
    return Pairing('logits', s, t, (Pair(s.levels[0], t.levels[0]),), resize)


def _pair_features(student: Probe, teacher: Probe, method: str, source: Optional[str]) -> Pairing:
    kind = _feature_source(student, teacher, method, source)
    if not kind:
        raise PairingError(
            f'No source both models have: the student ({student.model_type}) offers {sorted(student.sources)}, '
            f'the teacher ({teacher.model_type}) {sorted(teacher.sources)} (neck, backbone or decode-head '
            f'outputs as (N, C, H, W) maps){_failures(student, teacher)}. ' + _record_by_hand(method))
    if kind == 'logits':
        return _pair_logits(student, teacher)
    s, t = student.sources[kind], teacher.sources[kind]
    pairs = _by_stride(s, t)
    if not pairs:
        raise PairingError(
            f'The student\'s and the teacher\'s {kind} outputs have no stride in common.\n'
            f'  student: {_describe(s)}\n  teacher: {_describe(t)}\n'
            + ('Try --source backbone (the backbones\' stages), or ' if kind == 'neck' else '')
            + _record_by_hand(method, 'name' if kind == 'neck' else 'Name'))
    return Pairing(kind, s, t, pairs)


def _pair_head_logits(student: Probe, teacher: Probe) -> Pairing:
    if student.task == 'segmentation':
        _refuse_unmeasured('logits', 'nkd', student, teacher)
        if 'logits' not in student.sources or 'logits' not in teacher.sources:
            raise PairingError('NKD on segmentation needs both models\' decode-head logits (decode_head.conv_seg); '
                               f'the student has {sorted(student.sources)}, the teacher {sorted(teacher.sources)}.')
        return _pair_logits(student, teacher)
    if student.roi_logits and teacher.roi_logits:
        s = Source('roi', student.roi_logits, (), False)
        t = Source('roi', teacher.roi_logits, (), False)
        if student.num_classes != teacher.num_classes:
            raise PairingError(f'The student\'s RoI head has {student.num_classes} classes, the teacher\'s '
                               f'{teacher.num_classes}: logits need the same classes.')
        return Pairing('roi', s, t, ())
    head = student.head_type
    if head not in HEAD_LOGITS:
        supported = ', '.join(sorted(HEAD_LOGITS))
        raise PairingError(
            f'NKD needs dense classification logits with labels; the student\'s head {head} is not one of the '
            f'heads whose logits the plugin knows ({supported}; or a two-stage RoI head with fc_cls). A '
            'query-based head (DETR family) has no dense logits to distil: use --method acam_kd or cwd on its '
            'neck, or record its classifier by hand (configs/nkd/README.md shows the recorders).')
    if teacher.head_type != head:
        raise PairingError(f'NKD on a dense head needs the same head on both sides (the rows are the same anchors '
                           f'or points): the student has {head}, the teacher {teacher.head_type}. Use '
                           '--method acam_kd or cwd (features), or a teacher of the student\'s family.')
    _refuse_unmeasured('neck', 'nkd', student, teacher)
    s, t = student.sources.get('neck'), teacher.sources.get('neck')
    if s is None or t is None or [lv.stride for lv in s.levels] != [lv.stride for lv in t.levels]:
        raise PairingError(f'NKD on {head} needs the same feature levels on both sides; the student has '
                           f'{_describe(s) if s else "no neck"}, the teacher {_describe(t) if t else "no neck"}.')
    if student.num_classes != teacher.num_classes:
        raise PairingError(f'The student\'s {head} has {student.num_classes} classes, the teacher\'s '
                           f'{teacher.num_classes}: logits need the same classes.')
    return Pairing('dense_head', s, t, tuple(Pair(a, b) for a, b in zip(s.levels, t.levels)), head=head)


def pair_models(student: Probe, teacher: Probe, method: str, source: Optional[str] = None) -> Pairing:
    """The pairing a generated ``method`` config records (module docstring).

    Args:
        student, teacher: from :func:`probe_model`.
        method: one of :data:`METHODS`.
        source: force a feature source (``'neck'``, ``'backbone'``, ``'logits'``); feature methods only.

    Raises:
        PairingError: the models cannot be paired (the message names what to record by hand).
    """
    if method not in METHODS:
        raise PairingError(f'--method must be one of {METHODS}, got {method!r}.')
    if student.task != teacher.task:
        raise PairingError(f'The student is a {student.task} model ({student.model_type}) and the teacher a '
                           f'{teacher.task} model ({teacher.model_type}): pair models of the same task.')
    if method in LOGIT_METHODS:
        if source is not None:
            raise PairingError(f'--source is for the feature methods {FEATURE_METHODS}; {method} distils logits.')
        return _pair_head_logits(student, teacher)
    return _pair_features(student, teacher, method, source)
