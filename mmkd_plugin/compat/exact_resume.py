"""Every Runner gets ``ReseedHook`` (the generators reseeded from the run's seed at each epoch), which
makes an epoch-based ``--resume`` exact.

MMEngine builds hooks only from the config, so a hook the user forgot is simply absent; wrapping
``Runner.train`` registers it unless the config lists it already.
"""
import functools

from mmengine.runner import Runner


def apply() -> None:
    """Wrap ``Runner.train``. Idempotent."""
    if getattr(Runner.train, '_mmkd_reseed_hook', False):
        return
    original = Runner.train

    @functools.wraps(original)
    def train(self, *args, **kwargs):
        from ..engine.hooks.reseed_hook import ReseedHook
        if not any(isinstance(h, ReseedHook) for h in self.hooks):
            self.register_hook(ReseedHook())
        return original(self, *args, **kwargs)

    train._mmkd_reseed_hook = True
    Runner.train = train
