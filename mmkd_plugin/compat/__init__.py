"""Fixes that make the pinned stack work together; applied once by ``import mmkd_plugin``."""
from . import (exact_resume, mmrazor_torch2, package_configs, resume_check, safe_checkpoint, student_optim_wrapper,
               student_view)


def apply_all() -> None:
    """Apply every compatibility fix (idempotent)."""
    mmrazor_torch2.apply()
    safe_checkpoint.apply()
    resume_check.apply()
    exact_resume.apply()
    student_view.apply()
    student_optim_wrapper.apply()
    package_configs.apply()


__all__ = ['apply_all']
