"""``_base_ = ['mmkd_plugin::acam_kd/...']``: the plugin's configs inherited like mmdet's.

MMEngine resolves ``pkg::path`` only for the packages in its ``MODULE2PACKAGE`` table, through
``<package>/.mim/configs`` (the configs are shipped there; setup.py). This adds the plugin to the table
(MMEngine asserts it) and resolves ``mmkd_plugin::`` bases itself, for two reasons: an editable install
has no package directory next to its ``.dist-info``, where MMEngine looks; and MMEngine would stamp
``_scope_='mmkd_plugin'`` on every top-level dict of the base (a scope without registries, so e.g. a
``CocoDataset`` there would not be found). The plugin's configs mix scopes and name them where needed
(``_scope_='mmrazor'`` on the algorithm), so they are read as a local base is: no scope added.

A config is read before its ``custom_imports`` are imported, so ``mmkd_plugin::`` bases need
``import mmkd_plugin`` first: the plugin's ``tools/*.py`` do it; see docs/configs.md for MMDetection's
and MMSegmentation's own tools.
"""
import os.path as osp

PACKAGE = 'mmkd_plugin'
CONFIGS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs')


def config_path(cfg_path: str) -> str:
    """The file of ``mmkd_plugin::<path>``; FileNotFoundError names the folder searched."""
    path = osp.join(CONFIGS_DIR, cfg_path[len(PACKAGE) + 2:])
    if not osp.isfile(path):
        raise FileNotFoundError(f'{cfg_path}: no such config in {CONFIGS_DIR}.')
    return path


def apply() -> None:
    """Register the package with MMEngine's config loader. Idempotent."""
    from mmengine.config import Config
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    original = Config._get_cfg_path
    if getattr(original, '_mmkd_package_configs', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        if cfg_path.startswith(PACKAGE + '::'):
            return config_path(cfg_path), None
        return original(cfg_path, filename)

    _get_cfg_path._mmkd_package_configs = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)
