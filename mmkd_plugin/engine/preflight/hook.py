"""``PreflightHook``: the preflight of a ``DistillRunner`` run, after every other hook's ``before_train``.

At that point the weights are initialised and ``load_from`` is loaded, the optimizer is built and the
other hooks have set the model up (EMA, PS-KD, MCMI statistics): the model is the one the first step
trains. The inputs come from the run itself: the first images of the training set through the training
pipeline, the first N validation images and a copy of the run's evaluator, the optimizer wrapper's context
(autocast) and fp16 loss scale, the class names of the training set and of the teacher's config, the
stock configs' metafile values. ``DistillRunner.train`` registers it (``preflight`` config key).
"""
import copy

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...models.utils.student import unwrap
from . import agreement, metafile, samples
from .run import ValData, run_preflight


def _val_data(runner):
    loop = runner.val_loop
    if loop is None or getattr(loop, 'evaluator', None) is None:
        return None
    loader = loop.dataloader
    evaluator = copy.deepcopy(loop.evaluator)  # the val loop gave it the dataset's metainfo
    return ValData(loader.dataset, samples.loader_batch_size(loader), getattr(loader, 'collate_fn', None), evaluator)


def _grad_scale(optim_wrapper) -> float:
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    try:
        return float(scaler.get_scale()) if scaler is not None else 1.0
    except (AttributeError, RuntimeError):
        return 1.0


@HOOKS.register_module()
class PreflightHook(Hook):
    """Run ``run.run_preflight`` once, before the first training step (``before_train``, lowest priority).

    Args:
        settings: ``settings.read_settings`` of the config's ``preflight``.

    Raises:
        PreflightError: from ``before_train``, when a check refuses the run.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)
    priority = 'LOWEST'

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self.report = None  # run.Report once it ran

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        loader = runner.train_dataloader
        batch = samples.first_batch(loader)
        cfg = runner.cfg
        student_classes = (getattr(loader.dataset, 'metainfo', None) or {}).get('classes')
        teacher_classes = agreement.teacher_config_classes((cfg.get('model') or {}).get('teacher'))
        optim_wrapper = runner.optim_wrapper
        self.report = run_preflight(
            model, batch, self.settings, val=_val_data(runner), student_classes=student_classes,
            teacher_classes=teacher_classes, stock=metafile.stock_config_paths(cfg),
            not_judged='the run has no val_dataloader and val_evaluator',
            context=lambda: optim_wrapper.optim_context(model), grad_scale=_grad_scale(optim_wrapper),
            batch_note=f'the first {samples.loader_batch_size(loader)} training images, training pipeline')
