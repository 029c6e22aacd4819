"""Hooks every Runner gets from ``import mmkd_plugin``, registered unless the config lists them.

MMEngine builds hooks only from the config, so a hook the user forgot is simply absent. Wrapping the
Runner's entry points (``train``, ``val``, ``test``) registers it first; the flag on the wrapper keeps
``apply`` idempotent.
"""
import functools
from typing import Callable, Sequence

from mmengine.runner import Runner


def register_on(entry_points: Sequence[str], hook_class: Callable[[], type], flag: str) -> None:
    """Wrap ``Runner.<entry point>`` to register ``hook_class()()`` unless an instance is there.

    ``hook_class`` is a function returning the class, so that the hook's module is imported only when a
    Runner starts (``import mmkd_plugin`` stays light).
    """
    for name in entry_points:
        original = getattr(Runner, name)
        if getattr(original, flag, False):
            continue

        @functools.wraps(original)
        def run(self, *args, _original=original, **kwargs):
            cls = hook_class()
            if not any(isinstance(h, cls) for h in self.hooks):
                self.register_hook(cls())
            return _original(self, *args, **kwargs)

        setattr(run, flag, True)
        setattr(Runner, name, run)
