"""mmkd_plugin: knowledge distillation for dense prediction on OpenMMLab 2.x.

Importing the package makes the pinned stack work together (mmrazor 1.0.0 on torch 2.x;
``weights_only`` loading of MMEngine checkpoints) and registers every component. It does nothing else.
"""
from .compat import apply_all as _apply_compat

_apply_compat()  # before anything imports mmrazor.models

from . import engine, models  # noqa: E402,F401  (registration)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
