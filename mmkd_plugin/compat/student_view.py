"""Every Runner gets ``StudentViewHook``, so the student config's own hooks (EMA, mode switches, class
checks) act on the student of a distillation run without a line in the user's config.

As for ``ReseedHook`` (``exact_resume.py``): MMEngine builds hooks only from the config, so
``Runner.train``, ``Runner.val`` and ``Runner.test`` are wrapped to register the hook unless the config
lists it already. In a run without a student (a plain detector) the hook does nothing.
"""
import functools

from mmengine.runner import Runner


def _with_student_view(original):
    @functools.wraps(original)
    def run(self, *args, **kwargs):
        from ..engine.hooks.student_view_hook import StudentViewHook
        if not any(isinstance(h, StudentViewHook) for h in self.hooks):
            self.register_hook(StudentViewHook())
        return original(self, *args, **kwargs)

    run._mmkd_student_view = True
    return run


def apply() -> None:
    """Wrap ``Runner.train``, ``Runner.val`` and ``Runner.test``. Idempotent."""
    for name in ('train', 'val', 'test'):
        original = getattr(Runner, name)
        if not getattr(original, '_mmkd_student_view', False):
            setattr(Runner, name, _with_student_view(original))
