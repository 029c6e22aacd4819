"""A stock config's published metric, from the model-zoo metafiles the installed packages ship.

mmdet and mmseg install their configs with a ``metafile.yml`` / ``metafile.yaml`` per folder
(``<package>/.mim/configs/<folder>/``); each model lists its ``Config`` and ``Results`` (``Metrics``). A
config is matched by its file name (``retinanet_r50_fpn_1x_coco``), in the package its ``pkg::`` path
names. Nothing is downloaded.

Units: the metafiles publish percentages; the evaluators report mmdet's COCO AP as a fraction (0-1) and
mmseg's mIoU as a percentage (0-100). :data:`METRICS` maps an evaluator key to the metafile's name and
the factor that turns the published value into the evaluator's units.
"""
import functools
import glob
import os.path as osp
from typing import Dict, Optional, Tuple

# evaluator key -> (metafile metric name, factor from the metafile's value to the evaluator's units)
METRICS: Dict[str, Tuple[str, float]] = {
    'coco/bbox_mAP': ('box AP', 0.01),
    'coco/segm_mAP': ('mask AP', 0.01),
    'mIoU': ('mIoU', 1.0),
}
PACKAGES = ('mmdet', 'mmseg')


def config_name(path: str) -> str:
    """``mmdet::retinanet/retinanet_r50_fpn_1x_coco.py`` or a file path -> ``retinanet_r50_fpn_1x_coco``."""
    return osp.splitext(osp.basename(path.split('::')[-1]))[0]


def package_of(path: Optional[str]) -> Optional[str]:
    """The package a ``pkg::path`` config belongs to (``mmdet``, ``mmseg``), else None."""
    if not path or '::' not in path:
        return None
    package = path.split('::')[0]
    return package if package in PACKAGES else None


@functools.lru_cache(maxsize=None)
def _models(package: str) -> Dict[str, list]:
    """Config name -> that model's ``Results`` list, for every metafile of ``package``."""
    import importlib

    import yaml
    try:
        root = osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim', 'configs')
    except ImportError:
        return {}
    found = {}
    for path in sorted(glob.glob(osp.join(root, '**', 'metafile.y*ml'), recursive=True)):
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        models = data.get('Models') if isinstance(data, dict) else data  # a few metafiles are bare lists
        for model in models or []:
            if not isinstance(model, dict) or not model.get('Config'):
                continue
            results = model.get('Results') or []
            found.setdefault(config_name(model['Config']), results if isinstance(results, list) else [results])
    return found


def published_metric(config_path: Optional[str], key: str) -> Optional[float]:
    """The metric ``key`` (an evaluator key of :data:`METRICS`) published for the stock config
    ``config_path`` (``pkg::path``), in the evaluator's units; None when the config is not a stock one,
    the key is not mapped, or the metafile gives no such value."""
    package = package_of(config_path)
    if package is None or key not in METRICS:
        return None
    name, factor = METRICS[key]
    for result in _models(package).get(config_name(config_path), []):
        value = (result.get('Metrics') or {}).get(name) if isinstance(result, dict) else None
        if isinstance(value, (int, float)):
            return round(float(value) * factor, 6)
    return None


def stock_config_paths(cfg) -> Tuple[Optional[str], Optional[str]]:
    """The ``pkg::path`` of a distillation config's teacher and student, where they are stock configs.

    The teacher: ``model.teacher.cfg_path``. The student: ``model.architecture.cfg_path``, else the first
    ``_base_`` of the config file (the layout of the plugin's configs: ``_base_ = ['mmdet::...']``, the
    student config first). None where it is not a package config (a local file has no metafile entry).
    """
    from mmengine.config import Config
    model = cfg.get('model') or {}
    teacher, student = model.get('teacher'), model.get('architecture')
    teacher_path = teacher.get('cfg_path') if isinstance(teacher, dict) else None
    student_path = student.get('cfg_path') if isinstance(student, dict) else None
    filename = getattr(cfg, 'filename', None)
    if student_path is None and filename and osp.isfile(filename):
        try:
            bases = Config._get_base_files(filename)
        except Exception:  # an unreadable or unusual file: no stock student known
            bases = []
        bases = [bases] if isinstance(bases, str) else list(bases or [])
        student_path = bases[0] if bases else None
    return (teacher_path if package_of(teacher_path) else None,
            student_path if package_of(student_path) else None)
