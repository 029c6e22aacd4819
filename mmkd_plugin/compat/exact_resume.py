"""Every Runner gets ``ReseedHook`` (the generators reseeded from the run's seed at each epoch), which
makes an epoch-based ``--resume`` exact. ``Runner.train`` registers it unless the config lists it
(``runner_hooks.py``).
"""
from .runner_hooks import register_on


def _hook():
    from ..engine.hooks.reseed_hook import ReseedHook
    return ReseedHook


def apply() -> None:
    """Wrap ``Runner.train``. Idempotent."""
    register_on(('train', ), _hook, '_mmkd_reseed_hook')
