"""Check a distiller's recorders and mappings, at build time and at the first steps.

MMRazor answers most mistakes in a distiller config with a bare ``assert`` or, worse, with
``record_idx is illegal. The length of data_buffer is 0`` during training (open-mmlab/mmrazor#174,
#636). These checks name the recorder or the mapping, say why, and give the fix.
"""
import difflib
import importlib
import inspect
from typing import List, Mapping, Optional

from torch import nn

from .loss_shapes import arm_shape_checks

MODULE_RECORDERS = ('ModuleOutputs', 'ModuleInputs', 'ModuleOutputsRecorder', 'ModuleInputsRecorder')
METHOD_RECORDERS = ('MethodOutputs', 'MethodInputs', 'MethodOutputsRecorder', 'MethodInputsRecorder')
FUNCTION_RECORDERS = ('FunctionOutputs', 'FunctionInputs', 'FunctionOutputsRecorder',
                      'FunctionInputsRecorder')
CONTAINERS = (nn.ModuleList, nn.ModuleDict)


def _close(name: str, names: List[str]) -> str:
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.5)
    return f' Closest names: {close}.' if close else ''


def _resolve(path: str):
    """Import ``pkg.module.Attr[.attr]``: the object, or None with the deepest thing found."""
    parts = path.split('.')
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        found = '.'.join(parts[:split])
        for part in parts[split:]:
            if not hasattr(obj, part):
                return None, obj, found, part
            obj, found = getattr(obj, part), f'{found}.{part}'
        return obj, None, found, None
    return None, None, '', parts[0]


def check_recorder_sources(recorders: Optional[Mapping], model: nn.Module, role: str) -> None:
    """Raise ``ValueError`` for a recorder whose ``source`` names nothing the model or Python has.

    Module recorders: a module of ``model`` (containers are refused: a ``ModuleList`` is never called).
    Method and function recorders: an importable ``pkg.module.Class.method`` / ``pkg.module.func``.
    """
    if not recorders:
        return
    names = [name for name, _ in model.named_modules() if name]
    modules = dict(model.named_modules())
    for key, recorder in recorders.items():
        kind, source = recorder.get('type'), recorder.get('source')
        where = f'{role}_recorders[{key!r}] ({kind}, source={source!r})'
        if kind in MODULE_RECORDERS:
            if source not in modules:
                raise ValueError(
                    f'{where}: {source!r} is not a module of the {role} ({type(model).__name__}).'
                    f'{_close(source, names)} Fix `source` in the distiller config; '
                    '`[n for n, _ in model.named_modules()]` lists every valid name.')
            if isinstance(modules[source], CONTAINERS):
                children = [f'{source}.{c}' for c in modules[source]._modules]
                raise ValueError(
                    f'{where}: {source!r} is a {type(modules[source]).__name__}, which is never called '
                    f'itself, so it records nothing. Record one of its children: {children[:6]}.')
        elif kind in METHOD_RECORDERS + FUNCTION_RECORDERS:
            obj, parent, found, missing = _resolve(str(source))
            if obj is None:
                options = sorted(a for a in dir(parent) if not a.startswith('__')) if parent is not None else []
                raise ValueError(
                    f'{where}: {source!r} cannot be imported: {found or "no module"} has no '
                    f'{missing!r}.{_close(missing, options)} Give the full path, e.g. '
                    "'mmdet.models.dense_heads.anchor_head.AnchorHead.loss_by_feat_single'.")


def check_loss_forward_mappings(distiller: Mapping) -> None:
    """Raise ``ValueError`` for a mapping that names an unknown loss, argument, recorder or connector."""
    from mmrazor.registry import MODELS
    losses = distiller.get('distill_losses') or {}
    recorders = {True: set(distiller.get('student_recorders') or {}),
                 False: set(distiller.get('teacher_recorders') or {})}
    connectors = set(distiller.get('connectors') or {})
    for loss_name, mapping in (distiller.get('loss_forward_mappings') or {}).items():
        if loss_name not in losses:
            raise ValueError(f'loss_forward_mappings[{loss_name!r}] maps a loss that distill_losses does '
                             f'not define.{_close(loss_name, list(losses))} Its keys must be the loss names '
                             f'{sorted(losses)}.')
        loss_type = losses[loss_name].get('type')
        loss_cls = MODELS.get(loss_type) if isinstance(loss_type, str) else loss_type
        if loss_cls is None:
            continue  # MMRazor's registry reports an unknown type itself
        params = [p for p in inspect.signature(loss_cls.forward).parameters if p != 'self']
        for arg, source in mapping.items():
            where = f'loss_forward_mappings[{loss_name!r}][{arg!r}]'
            if arg not in params:
                raise ValueError(f'{where}: {loss_type}.forward has no argument {arg!r}; its arguments '
                                 f'are {params}.')
            if not isinstance(source, Mapping) or 'recorder' not in source or 'from_student' not in source:
                raise ValueError(f'{where} must be dict(from_student=True/False, recorder=NAME, ...); '
                                 f'got {source!r}.')
            side = source['from_student']
            if not isinstance(side, bool):
                raise ValueError(f'{where}: from_student must be True or False, got {side!r}.')
            if source['recorder'] not in recorders[side]:
                role = 'student' if side else 'teacher'
                raise ValueError(f'{where}: {source["recorder"]!r} is not one of the {role}_recorders '
                                 f'{sorted(recorders[side])}.')
            if 'connector' in source and source['connector'] not in connectors:
                raise ValueError(f'{where}: connector {source["connector"]!r} is not one of the '
                                 f'connectors {sorted(connectors)}.')


def check_records(distiller, student: nn.Module, teacher: Optional[nn.Module],
                  teacher_forward: Optional[str]) -> None:
    """Before the losses read the records: raise ``RuntimeError`` for a record a mapping needs but the
    step did not produce (MMRazor would fail with 'record_idx is illegal'). The first time, also arm the
    losses' shape checks (``loss_shapes.arm_shape_checks``: student and teacher inputs the loss cannot
    compare stop at its first call with both shapes, both recorders and the fix)."""
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        for arg, source in mapping.items():
            if not isinstance(source, Mapping) or 'recorder' not in source:
                continue
            side = source['from_student']
            manager = distiller.student_recorders if side else distiller.teacher_recorders
            recorder = manager.get_recorder(source['recorder'])
            needed = source.get('record_idx', 0) + 1
            if len(recorder.data_buffer) >= needed:
                continue
            role, model = ('student', student) if side else ('teacher', teacher)
            raise RuntimeError(
                f"{role} recorder {source['recorder']!r} ({type(recorder).__name__} on {recorder.source!r}) "
                f'holds {len(recorder.data_buffer)} record(s) after the {role} forward, but '
                f'{loss_name}.{arg} reads record {needed - 1}: '
                + _why_empty(recorder, model, role, teacher_forward))
    arm_shape_checks(distiller, student, teacher)


def _why_empty(recorder, model: nn.Module, role: str, teacher_forward: Optional[str]) -> str:
    source = recorder.source
    if hasattr(recorder, 'method_name') and hasattr(recorder, 'cls_name'):
        owners = set()
        for module in model.modules():  # the class each module's method really comes from
            cls = next((c for c in type(module).__mro__ if recorder.method_name in c.__dict__), None)
            if cls is not None and cls is not getattr(recorder, 'imported_class', None):
                owners.add(f'{cls.__module__}.{cls.__qualname__}')
        owners = sorted(owners)
        return (f'the model never called {source}. If its head overrides that method, record the class '
                f'it uses: {[o + "." + recorder.method_name for o in owners][:4]}; a method that runs '
                f'only in another mode needs another teacher_forward.')
    if role == 'teacher' and teacher_forward == 'feat' and not source.startswith(('backbone', 'neck')):
        return (f"teacher_forward='feat' runs only the teacher's backbone and neck, so {source!r} never "
                "runs. Use teacher_forward='tensor' (the raw head outputs) or 'loss' in the model config.")
    if role == 'teacher' and teacher_forward == 'tensor':
        return (f"{source!r} did not run in the teacher's 'tensor' forward (it may run only inside the "
                "loss, e.g. a RoI head's sampled RoIs); use teacher_forward='loss'.")
    return (f'{source!r} did not run in this forward, or ran fewer times than the mapping expects '
            '(record_idx counts the calls in one step).')
