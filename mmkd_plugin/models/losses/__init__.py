"""Distillation losses, registered in MMRazor's ``MODELS`` (``_scope_='mmrazor'`` configs find them).

One module per method; add one import line per module.
"""
from .acam_kd import ACAMKDLoss  # noqa: F401
from .mcmi import MCMILoss  # noqa: F401
from .nkd import NKDLoss  # noqa: F401
from . import pskd, pskd_focal  # noqa: F401  (PSKDLoss, PSKDFocalLoss)
from .resize import ResizedLoss  # noqa: F401
from .uskd import USKDLoss  # noqa: F401
