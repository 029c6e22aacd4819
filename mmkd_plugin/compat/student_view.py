"""Every Runner gets ``StudentViewHook``, so the student config's own hooks (EMA, mode switches, class
checks) act on the student of a distillation run without a line in the user's config. ``Runner.train``,
``Runner.val`` and ``Runner.test`` register it unless the config lists it (``runner_hooks.py``). In a run
without a student (a plain detector) the hook does nothing.
"""
from .runner_hooks import register_on


def _hook():
    from ..engine.hooks.student_view_hook import StudentViewHook
    return StudentViewHook


def apply() -> None:
    """Wrap ``Runner.train``, ``Runner.val`` and ``Runner.test``. Idempotent."""
    register_on(('train', 'val', 'test'), _hook, '_mmkd_student_view')
