"""The student's own config, resolved from a distillation run's config, for deployment.

A distillation config defines its student inside ``model.architecture`` (often as a ``cfg_path`` with
overrides such as ``num_classes=3``), so the stock tools would need the user to rebuild a matching
student config by hand. The student config written next to each ``*_student.pth`` is the run's config
with ``model`` replaced by the student's resolved model dict and the distillation-only parts removed
(``custom_imports``, ``runner_type = 'DistillRunner'``, ``preflight`` and hooks of mmkd_plugin): mmdet's
``init_detector``, mmseg's ``init_model``, ``tools/test.py`` and mmdeploy's ``tools/deploy.py`` read it with the
stock packages alone.
"""
import copy
from typing import Optional

from mmengine.config import Config, ConfigDict
from mmengine.registry import HOOKS, RUNNERS

from ..models.utils.runner_check import is_distill_runner


def is_plugin_hook(hook_cfg: dict) -> bool:
    """Whether a hook config builds one of mmkd_plugin's hooks (their class sets ``mmkd_plugin_hook``),
    which the stock packages cannot build."""
    cls = HOOKS.get(str(hook_cfg.get('type', '')))
    return bool(getattr(cls, 'mmkd_plugin_hook', False))


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
    if is_distill_runner(RUNNERS.get(str(out.get('runner_type', '')))):
        out.pop('runner_type')  # DistillRunner is the plugin's; the student trains with MMEngine's
    out.custom_hooks = [h for h in out.get('custom_hooks', []) if not is_plugin_hook(h)]
    defaults = out.get('default_hooks') or {}
    for key in [k for k, h in defaults.items() if isinstance(h, dict) and is_plugin_hook(h)]:
        defaults.pop(key)
    for key in [k for k in out if k.startswith('teacher')] + ['load_from', 'resume', 'preflight']:
        out.pop(key, None)
    return out
