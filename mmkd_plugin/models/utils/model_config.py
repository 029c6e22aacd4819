"""Turn a model given as a config file, a config dict or a built module into a built model.

MMRazor's ``cfg_path`` only accepts installed packages' configs (``mmdet::...``; open-mmlab/mmrazor#460)
and builds them through ``mmengine.hub.get_model``, which cannot override keys. Here ``cfg_path`` may
also be a local file, the other keys of the dict override the loaded ``model`` (deep merge), and a
model dict without ``_scope_`` is given the scope of the OpenMMLab package that registers its type.
"""
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.registry import MODELS
from torch import nn

# Packages whose registries are searched, in order, for a model type written without a scope.
KNOWN_SCOPES = ('mmdet', 'mmseg', 'mmpretrain', 'mmrazor', 'mmengine')


def load_model_cfg(cfg_path: str) -> ConfigDict:
    """Return the ``model`` of a config file (``pkg::path`` or a local path) with its scope set.

    Raises:
        FileNotFoundError: if a local path does not exist.
        KeyError: if the config has no ``model``.
    """
    if '::' in cfg_path:
        cfg = get_config(cfg_path)
    else:
        if not osp.isfile(cfg_path):
            raise FileNotFoundError(
                f'Model config {cfg_path!r} does not exist (cwd: {osp.abspath(".")}). Give a local '
                "config file or an installed package's config as 'pkg::path', e.g. "
                "'mmdet::retinanet/retinanet_r101_fpn_2x_coco.py'.")
        cfg = Config.fromfile(cfg_path)
    if 'model' not in cfg:
        raise KeyError(f'Config {cfg_path!r} has no `model` to build.')
    model = cfg.model
    if '_scope_' not in model and cfg.get('default_scope'):
        model['_scope_'] = cfg.default_scope
    return model


def infer_scope(model_type: str) -> Optional[str]:
    """The first known package whose ``MODELS`` registry holds ``model_type``, else None."""
    for scope in KNOWN_SCOPES:
        try:
            if MODELS.get(f'{scope}.{model_type}') is not None:
                return scope
        except (KeyError, ModuleNotFoundError, ImportError):
            continue
    return None


def resolve_model_cfg(spec: Union[dict, nn.Module], role: str) -> Union[ConfigDict, nn.Module]:
    """Normalise ``spec`` into a buildable config dict with ``_scope_`` (or return a module).

    Args:
        spec: a built module; ``dict(cfg_path=..., **overrides)``; or an ordinary model dict.
        role: 'student' or 'teacher', used in error messages.
    """
    if isinstance(spec, nn.Module):
        return spec
    spec = ConfigDict(spec)
    if 'cfg_path' in spec and 'type' not in spec:
        overrides = ConfigDict(spec)
        cfg_path = overrides.pop('cfg_path')
        if overrides.pop('pretrained', False):
            raise ValueError(
                f'{role}: pretrained=True would download weights from a model zoo, which mmkd_plugin '
                f'does not do. Download the checkpoint and pass its path ({role}_ckpt for a teacher, '
                'or load_from / init_cfg for a student).')
        model = load_model_cfg(cfg_path)
        return ConfigDict(Config._merge_a_into_b(overrides, model))
    if 'type' not in spec:
        raise ValueError(f'{role}: a model needs either `type` or `cfg_path`, got keys {sorted(spec)}.')
    if '_scope_' not in spec and isinstance(spec.type, str) and '.' not in spec.type:
        scope = infer_scope(spec.type)
        if scope is not None:
            spec['_scope_'] = scope
    return spec


def build_model(spec: Union[dict, nn.Module], role: str) -> nn.Module:
    """:func:`resolve_model_cfg`, then build it with MMRazor's ``MODELS`` (a module is returned as is)."""
    from mmrazor.registry import MODELS as RAZOR_MODELS
    spec = resolve_model_cfg(spec, role)
    return RAZOR_MODELS.build(spec) if isinstance(spec, dict) else spec
