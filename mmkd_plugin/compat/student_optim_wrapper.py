"""Every Runner of a distillation algorithm builds its optimizer with the student config's recipe.

``Runner.build_optim_wrapper`` is wrapped to rewrite the config with ``for_distillation``: the
configured constructor (``LayerDecayOptimizerConstructor``, ``paramwise_cfg`` ``custom_keys``...) runs
on the student alone, the distiller gets a group of its own and the teacher none
(``DistillOptimWrapperConstructor``). Plain models are left as they are.
"""
import functools

from mmengine.runner import Runner


def apply() -> None:
    """Wrap ``Runner.build_optim_wrapper``. Idempotent."""
    original = Runner.build_optim_wrapper
    if getattr(original, '_mmkd_student_optim', False):
        return

    @functools.wraps(original)
    def build_optim_wrapper(self, optim_wrapper):
        from ..engine.optimizers.distill_optim_wrapper_constructor import for_distillation
        return original(self, for_distillation(self.model, optim_wrapper))

    build_optim_wrapper._mmkd_student_optim = True
    Runner.build_optim_wrapper = build_optim_wrapper
