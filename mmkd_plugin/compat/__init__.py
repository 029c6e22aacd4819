"""Fixes that make the pinned stack work together; applied once by ``import mmkd_plugin``.

Only compatibility: mmrazor 1.0.0 on torch 2 (``mmrazor_torch2``), every MMEngine checkpoint scheme
unpickling plain data only (``safe_checkpoint``, ``checkpoint_loaders``), ``mmkd_plugin::`` config paths
(``package_configs``). What a distillation run does differently is ``DistillRunner``'s
(``mmkd_plugin/engine/runner``), chosen by the config; no MMEngine ``Runner`` is changed.
"""
from . import checkpoint_loaders, mmrazor_torch2, package_configs


def apply_all() -> None:
    """Apply every compatibility fix (idempotent)."""
    mmrazor_torch2.apply()
    checkpoint_loaders.register()
    package_configs.apply()


__all__ = ['apply_all']
