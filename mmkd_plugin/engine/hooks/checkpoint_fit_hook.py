"""Never evaluate weights that were not loaded: a checkpoint must fit the model ``tools/test.py`` evaluates."""
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...models.utils.student import unwrap


def fit_checkpoint(model: torch.nn.Module, checkpoint: dict, source: str, shown: int = 5) -> None:
    """Make ``checkpoint`` (as loaded, before the model gets it) fit ``model``, or stop.

    A distillation checkpoint (``architecture.*``) given for a plain model is replaced, in place, by its
    student (what ``tools/export_student.py`` writes), and a line says so. A distillation algorithm needs
    its student's tensors (``architecture.*``, or a plain student checkpoint, which it maps itself); a
    plain model needs all of its own.

    Raises:
        SystemExit: some of those tensors are not in the checkpoint or have other shapes; up to ``shown``
            are named.
    """
    from .student_view_hook import student_checkpoint_view
    from ...models.utils.student import STUDENT_PREFIX, student_of
    model = unwrap(model)
    nested = isinstance(checkpoint.get('state_dict'), dict)
    state = checkpoint['state_dict'] if nested else checkpoint
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    algorithm = isinstance(student_of(model), torch.nn.Module)
    expected = model.state_dict()
    prefixed = any(k.startswith(STUDENT_PREFIX) for k in state)
    if not algorithm and prefixed and not set(state) & set(expected):
        view, _ = student_checkpoint_view(checkpoint if nested else dict(state_dict=checkpoint))
        if nested:
            checkpoint['state_dict'] = view['state_dict']
        else:
            checkpoint.clear()
            checkpoint.update(view['state_dict'])
        state = view['state_dict']
        print_log(f'{source} is a distillation checkpoint: evaluating its student ({len(state)} '
                  f'{STUDENT_PREFIX}* tensors; teacher and distiller left out). tools/export_student.py writes '
                  'the student alone.', logger='current')
    if algorithm:
        expected = {k: v for k, v in expected.items() if k.startswith(STUDENT_PREFIX)}
        if not prefixed:  # a plain student checkpoint: the algorithm maps it onto its student
            state = {STUDENT_PREFIX + k: v for k, v in state.items()}
    unloaded = [k for k, v in expected.items() if not k.endswith('num_batches_tracked')
                and (k not in state or tuple(getattr(state[k], 'shape', ())) != tuple(v.shape))]
    if unloaded:
        more = f' and {len(unloaded) - shown} more' if len(unloaded) > shown else ''
        raise SystemExit(
            f'{source} leaves {len(unloaded)} of {len(expected)} model tensors unloaded (missing or of '
            f'another shape: {", ".join(unloaded[:shown])}{more}), and the model would be evaluated with '
            'random weights. Give the config the checkpoint was trained with (for a distillation run: its '
            'distillation config, or the student config with the *_student.pth that tools/export_student.py '
            'writes).')


class CheckpointFitHook(Hook):
    """``fit_checkpoint`` on every checkpoint the Runner loads, before any other hook or the model sees it."""

    priority = 'HIGHEST'

    def __init__(self, source: str) -> None:
        self.source = source

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        fit_checkpoint(runner.model, checkpoint, self.source)
