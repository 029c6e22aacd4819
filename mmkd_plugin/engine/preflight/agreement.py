"""Do teacher and student agree on their classes and their inputs, where the plugin cannot convert?

Classes: the heads' ``num_classes`` (``bbox_head``, ``roi_head.bbox_head``, ``decode_head``) and, where
both configs name them, the datasets' class names in order. A disagreement is refused when the
distillation reads the teacher's class-indexed outputs (a recorder in a head, or ``teacher_forward='loss'``,
whose label assignment takes the student's labels): channel k of the teacher is not class k of the student.
Features (backbone, neck) may come from a teacher of other classes; the teacher's metric is then not
evaluated on the student's classes.

Inputs: normalisation is converted exactly (``TeacherInputs``); padding and fixed sizes are not. A
geometry difference is shown, and named again if the teacher's metric (taken on the student's batches)
is refused.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

from mmengine.config import Config
from torch import nn

HEADS = ('bbox_head', 'roi_head', 'decode_head', 'auxiliary_head', 'mask_head')
WRAPPERS = ('dataset', 'datasets')  # RepeatDataset, ClassBalancedDataset, MultiImageMixDataset, ConcatDataset


class Classes(NamedTuple):
    """One model's classes: its head's count, and its dataset's names where known."""
    count: Optional[int]
    names: Optional[Tuple[str, ...]]

    def text(self) -> str:
        count = '?' if self.count is None else str(self.count)
        if not self.names:
            return count
        shown = ', '.join(self.names[:4]) + (', ...' if len(self.names) > 4 else '')
        return f'{count} ({shown})'


class Agreement(NamedTuple):
    """``line`` for the summary; ``problem`` (refusal text) or None; ``same_classes``."""
    line: str
    problem: Optional[str]
    same_classes: bool


def head_num_classes(model: nn.Module) -> Optional[int]:
    """``num_classes`` of a detector's or segmentor's main head (the last stage of a cascade), else None."""
    modules = dict(model.named_modules())
    for name in ('decode_head', 'bbox_head', 'roi_head.bbox_head'):
        head = modules.get(name)
        if isinstance(head, (nn.ModuleList, nn.Sequential)) and len(head):
            head = head[-1]
        if head is not None and isinstance(getattr(head, 'num_classes', None), int):
            return head.num_classes
    return None


def dataset_classes(dataset_cfg: Optional[dict], default_scope: Optional[str] = None) -> Optional[Tuple[str, ...]]:
    """The class names a dataset config trains on: its ``metainfo.classes``, else its type's ``METAINFO``
    (wrappers are looked through); None when neither is known."""
    while isinstance(dataset_cfg, dict) and 'metainfo' not in dataset_cfg and any(k in dataset_cfg for k in WRAPPERS):
        inner = dataset_cfg.get('dataset', dataset_cfg.get('datasets'))
        dataset_cfg = inner[0] if isinstance(inner, (list, tuple)) and inner else inner
    if not isinstance(dataset_cfg, dict):
        return None
    classes = (dataset_cfg.get('metainfo') or {}).get('classes')
    if classes is None and isinstance(dataset_cfg.get('type'), str):
        from mmengine.registry import DATASETS
        name = dataset_cfg['type']
        scope = dataset_cfg.get('_scope_', default_scope)
        try:
            cls = DATASETS.get(f'{scope}.{name}' if scope and '.' not in name else name)
        except (KeyError, ImportError):
            cls = None
        classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    return tuple(classes) if classes else None


def config_classes(cfg: Config) -> Optional[Tuple[str, ...]]:
    """The class names of a whole config's training (else validation) dataset."""
    for key in ('train_dataloader', 'val_dataloader'):
        classes = dataset_classes((cfg.get(key) or {}).get('dataset'), cfg.get('default_scope'))
        if classes:
            return classes
    return None


def teacher_config_classes(teacher_spec) -> Optional[Tuple[str, ...]]:
    """The class names of the teacher's config file (``model.teacher = dict(cfg_path=...)``); None for a
    teacher given as a model dict, whose dataset is not known."""
    if not isinstance(teacher_spec, dict) or 'cfg_path' not in teacher_spec or 'type' in teacher_spec:
        return None
    from mmengine.hub import get_config
    path = teacher_spec['cfg_path']
    try:
        return config_classes(get_config(path) if '::' in path else Config.fromfile(path))
    except (FileNotFoundError, KeyError, ImportError):
        return None


def reads_class_outputs(model: nn.Module) -> Sequence[str]:
    """Why the distillation depends on the teacher's classes: the recorders in its heads, and
    ``teacher_forward='loss'``; empty for feature distillation."""
    reasons = []
    if getattr(model, 'teacher_forward', None) == 'loss':
        reasons.append("teacher_forward='loss' (the teacher's label assignment)")
    recorders = getattr(getattr(model.distiller, 'teacher_recorders', None), 'recorders', {}) or {}
    for name, recorder in recorders.items():
        source = str(getattr(recorder, 'source', ''))
        if source.split('.')[0] in HEADS:
            reasons.append(f'teacher recorder {name!r} on {source}')
    return reasons


def class_agreement(model: nn.Module, student_names: Optional[Sequence[str]],
                    teacher_names: Optional[Sequence[str]]) -> Agreement:
    """Compare the classes of ``model.architecture`` and ``model.teacher`` (see the module docstring)."""
    student = Classes(head_num_classes(model.architecture), tuple(student_names) if student_names else None)
    teacher = Classes(head_num_classes(model.teacher), tuple(teacher_names) if teacher_names else None)
    differ = []
    if student.count is not None and teacher.count is not None and student.count != teacher.count:
        differ.append(f'{teacher.count} teacher classes vs {student.count} student classes')
    if student.names and teacher.names and student.names != teacher.names:
        if set(student.names) == set(teacher.names):
            differ.append('the same class names in another order')
        else:
            differ.append('other class names')
    if not differ:
        return Agreement(f'classes: teacher {teacher.text()} = student {student.text()}', None, True)
    line = f'classes: teacher {teacher.text()} != student {student.text()} ({"; ".join(differ)})'
    reasons = reads_class_outputs(model)
    if not reasons:
        return Agreement(line + ': features only, allowed; the teacher is not evaluated on the student\'s classes',
                         None, False)
    problem = (f'teacher and student disagree on their classes ({"; ".join(differ)}: teacher {teacher.text()}, '
               f'student {student.text()}), and the distillation reads the teacher\'s class-indexed outputs '
               f'({"; ".join(reasons)}): its channel k is not the student\'s class k. Use a teacher trained on the '
               "student's classes in the student's order (teacher_ckpt, model.teacher's num_classes and dataset "
               'metainfo), or distil features (backbone/neck recorders, teacher_forward=\'feat\').')
    return Agreement(line, problem, False)


def input_lines(model: nn.Module) -> Tuple[str, Optional[str]]:
    """The summary's line on the teacher's inputs, and a geometry note (None when padding and sizes agree)."""
    inputs = getattr(model, 'teacher_inputs', None)
    if inputs is None:
        return 'inputs: the teacher gets the student\'s batch', None
    line = ('inputs: same normalisation for both' if inputs.identity
            else f'inputs: converted to the teacher\'s normalisation ({inputs.settings})')
    geometry = getattr(inputs, 'geometry', None) or {}
    if geometry.get('student') == geometry.get('teacher'):
        return line, None
    return line, (f"padding/size differ: teacher {geometry.get('teacher')} vs student {geometry.get('student')} "
                  '(not converted: the teacher sees the student\'s batch)')
