"""The student's own config, resolved from a distillation run's config, for deployment.

A distillation config defines its student inside ``model.architecture`` (often as a ``cfg_path`` with
overrides such as ``num_classes=3``), so the stock tools would need the user to rebuild a matching
student config by hand. The student config written next to each ``*_student.pth`` is the run's config
with ``model`` replaced by the student's resolved model dict and the distillation-only parts removed
(``custom_imports`` and hooks of mmkd_plugin): mmdet's ``init_detector``, mmseg's ``init_model``,
``tools/test.py`` and mmdeploy's ``tools/deploy.py`` read it with the stock packages alone.
"""
import copy
from typing import Optional

from mmengine.config import Config, ConfigDict

from .config_hooks import hook_type

PLUGIN_HOOKS = ('StudentCheckpointHook', 'StudentViewHook', 'ACAMKDMaskLoggerHook', 'ACAMKDMaskVisualizerHook',
                'MCMICentroidHook', 'PSKDHook', 'ReseedHook')


def student_config(distill_cfg_text: str) -> Optional[Config]:
    """The student's config from the text of a distillation run's config (a checkpoint's
    ``meta['cfg']``); None when the config has no ``model.architecture``."""
    from ..models.utils import resolve_model_cfg
    cfg = Config.fromstring(distill_cfg_text, file_format='.py')
    architecture = cfg.get('model', {}).get('architecture')
    if architecture is None:
        return None
    model = ConfigDict(resolve_model_cfg(copy.deepcopy(architecture), 'student'))
    scope = model.pop('_scope_', None) or cfg.get('default_scope')
    out = copy.deepcopy(cfg)
    out.model = model
    if scope:
        out.default_scope = scope
    out.pop('custom_imports', None)
    out.custom_hooks = [h for h in out.get('custom_hooks', []) if hook_type(h) not in PLUGIN_HOOKS]
    defaults = out.get('default_hooks') or {}
    for key in [k for k, h in defaults.items() if isinstance(h, dict) and hook_type(h) in PLUGIN_HOOKS]:
        defaults.pop(key)
    for key in [k for k in out if k.startswith('teacher')] + ['load_from', 'resume']:
        out.pop(key, None)
    return out
