"""``DistillRunner``: MMEngine's Runner with what a distillation run needs, chosen by ``runner_type``.

A config selects it with ``runner_type = 'DistillRunner'`` (the plugin's method configs and bases set
it); mmdet's and mmseg's stock ``tools/train.py`` build it through MMEngine's ``RUNNERS`` as the plugin's
own tools do. It differs from ``Runner`` in four overrides and nothing else:

- ``train``: registers ``ReseedHook`` (the generators reseeded from the run's seed at every epoch, so an
  epoch-based ``--resume`` continues exactly), unless the config lists it;
- ``train``: registers ``PreflightHook`` for a distillation run with a teacher (``engine/preflight``,
  docs/preflight.md): checks before the first step, which leave training unchanged; not on a resumed run
  unless ``preflight.on_resume``, never with ``preflight.skip`` (``tools/train.py --no-preflight``);
- ``train``, ``val``, ``test``: register ``StudentViewHook`` (the student config's own hooks act on the
  student), unless the config lists it; it does nothing for a plain model;
- ``build_optim_wrapper``: a distillation algorithm's optimizer is built by
  ``DistillOptimWrapperConstructor`` (the student config's constructor and ``paramwise_cfg`` on the
  student alone, the distiller in groups of its own, the teacher in none);
- ``resume``: a checkpoint that cannot continue this distillation run (a plain model's, a student
  export, weights only, other optimizer groups) is refused with the fix before anything is loaded
  (``resume_check.ResumeRefused``, a ``ValueError``).

A plain model under ``DistillRunner`` gets the reseeding only: the plugin's demo and benchmark baselines
use it, so that a student trained alone and a distilled one draw their random numbers alike. A plain
``Runner`` is left as MMEngine made it; the plugin's distillation algorithms refuse to be built by one
(``models/utils/runner_check.py``).
"""
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmengine.logging import print_log

from ...models.utils.student import is_distillation, unwrap
from ..hooks.reseed_hook import ReseedHook
from ..hooks.student_view_hook import StudentViewHook
from ..optimizers.distill_optim_wrapper_constructor import for_distillation
from ..preflight import PreflightHook, read_settings
from . import resume_check


@RUNNERS.register_module()
class DistillRunner(Runner):
    """MMEngine's ``Runner`` for distillation (see the module docstring); built like it, by ``from_cfg``.

    Raises:
        ResumeRefused: from ``resume`` (a ``ValueError``), naming the checkpoint and what to do instead.
        PreflightError: from ``train``, before the first step, when the preflight refuses the run.
        ValueError: from ``train``, an unknown ``preflight`` setting.
    """

    distillation_runner = True  # read by the plugin's algorithms (models/utils/runner_check.py)

    def _register_missing(self, *hook_classes) -> None:
        for cls in hook_classes:
            if not any(isinstance(h, cls) for h in self.hooks):
                self.register_hook(cls())

    def train(self):
        self._register_missing(StudentViewHook, ReseedHook)
        self._register_preflight()
        return super().train()

    def _register_preflight(self) -> None:
        """``PreflightHook`` for a distillation run with a teacher, unless skipped or resuming (docs/preflight.md)."""
        settings = read_settings(self.cfg.get('preflight'))
        if not (is_distillation(self.model) and hasattr(unwrap(self.model), 'teacher')) or any(
                isinstance(h, PreflightHook) for h in self.hooks):
            return
        if settings['skip']:
            print_log('preflight: skipped (preflight.skip=True).', logger='current')
        elif self._resume and not settings['on_resume']:
            print_log('preflight: not run on a resumed run (preflight.on_resume=True runs it).', logger='current')
        else:
            self.register_hook(PreflightHook(settings))

    def val(self):
        self._register_missing(StudentViewHook)
        return super().val()

    def test(self):
        self._register_missing(StudentViewHook)
        return super().test()

    def build_optim_wrapper(self, optim_wrapper):
        return super().build_optim_wrapper(for_distillation(self.model, optim_wrapper))

    def resume(self, filename: str, *args, **kwargs) -> None:
        if is_distillation(self.model):
            checkpoint = resume_check.read_checkpoint(filename)
            resume_check.check_resumable(checkpoint, filename)
            resume_check.check_training_state(checkpoint, filename)
            resume_check.check_optimizer_groups(self.optim_wrapper, checkpoint, filename)
        return super().resume(filename, *args, **kwargs)
