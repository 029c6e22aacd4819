"""A distillation algorithm of the plugin refuses to be built by a Runner other than ``DistillRunner``.

What a distillation run needs from its Runner (the student config's hooks acting on the student, the
student-only optimizer groups, the per-epoch reseeding that makes a resume exact, the checks of a
``--resume`` checkpoint) is ``DistillRunner``'s (``runner_type = 'DistillRunner'``), not a change made
to every MMEngine Runner. A config without ``runner_type`` would build a plain Runner, which trains
without them and without a word; MMEngine builds the model inside ``Runner.__init__``, so the algorithm
finds the Runner building it on the call stack and stops there with the fix. Built outside a Runner
(tests, the plugin's tools), nothing is checked.
"""
import sys


def building_runner():
    """The MMEngine ``Runner`` whose ``__init__`` or ``build_model`` is on the call stack, or None."""
    from mmengine.runner import Runner
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get('self')
        if isinstance(candidate, Runner):
            return candidate
        frame = frame.f_back
    return None


def is_distill_runner(runner_class) -> bool:
    """Whether ``runner_class`` (a Runner class, or None) is ``DistillRunner`` or a subclass: it carries
    ``distillation_runner = True``."""
    return bool(getattr(runner_class, 'distillation_runner', False))


def require_distill_runner(algorithm_name: str) -> None:
    """Raise ``TypeError`` when a Runner that is not a ``DistillRunner`` builds ``algorithm_name``."""
    runner = building_runner()
    if runner is None or is_distill_runner(type(runner)):
        return
    raise TypeError(
        f'{algorithm_name} is being built by {type(runner).__name__}, not by mmkd_plugin\'s DistillRunner, so '
        'the student\'s hooks, the student-only optimizer and the exact resume would be missing. Add '
        "runner_type = 'DistillRunner' to the config (the plugin's method configs set it; a config that "
        "inherits one has it), or --cfg-options runner_type=DistillRunner.")
