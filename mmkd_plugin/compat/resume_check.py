"""Refuse ``--resume`` of a distillation run from a checkpoint that is not a distillation checkpoint.

MMEngine's ``Runner.resume`` loads the weights non-strictly and then fails in torch's optimizer with
"loaded state dict contains a parameter group that doesn't match the size of optimizer's group", after
having loaded whatever matched. Here, when the runner's model is a distillation algorithm (it has a
student ``architecture`` and a ``distiller``), the checkpoint's keys are read first (memory-mapped, so a
large file costs nothing) and a plain model checkpoint is refused with what to do instead.
"""
import functools

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .safe_checkpoint import safe_torch_load


def _state_keys(filename: str):
    if '://' in filename:
        from mmengine.runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(filename, map_location='cpu')
    else:
        checkpoint = safe_torch_load(filename, map_location='cpu', mmap=True)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    return [k[len('module.'):] if k.startswith('module.') else k for k in state]


def check_resumable(model, filename: str) -> None:
    """Raise ``ValueError`` if ``model`` distils and ``filename`` holds no ``architecture.*`` weights."""
    if not (hasattr(model, 'architecture') and hasattr(model, 'distiller')):
        return
    if any(k.startswith('architecture.') for k in _state_keys(filename)):
        return
    raise ValueError(
        f'--resume {filename}: this is a plain model checkpoint (no architecture.* weights), not one '
        'written by a distillation run, so there is nothing of this run to resume. To teach with it, '
        f'set model.teacher_ckpt={filename}; to start the student from it, use load_from={filename} '
        '(--cfg-options load_from=...) without --resume.')


def apply() -> None:
    """Wrap ``Runner.resume`` with :func:`check_resumable`. Idempotent."""
    if getattr(Runner.resume, '_mmkd_checks_checkpoint', False):
        return
    original = Runner.resume

    @functools.wraps(original)
    def resume(self, filename, *args, **kwargs):
        check_resumable(self.model.module if is_model_wrapper(self.model) else self.model, filename)
        return original(self, filename, *args, **kwargs)

    resume._mmkd_checks_checkpoint = True
    Runner.resume = resume
