"""The checks ``DistillRunner.resume`` makes of a ``--resume`` checkpoint before anything is loaded.

MMEngine's ``Runner.resume`` loads the weights non-strictly and then fails in torch's optimizer with
"loaded state dict contains a parameter group that doesn't match the size of optimizer's group", after
having loaded whatever matched. Here, when the runner's model is a distillation algorithm (it has a
student ``architecture`` and a ``distiller``), the checkpoint's keys are read first (memory-mapped, so a
large file costs nothing) and a plain model checkpoint is refused with what to do instead. So is a
checkpoint whose optimizer has other parameter groups than this run's (checkpoints written before
``DistillOptimWrapperConstructor`` held the frozen teacher in the optimizer; a changed ``paramwise_cfg``),
before anything is loaded, and a distillation checkpoint that holds weights only (``state_dict`` and ``meta``,
as model zoos publish them), on which MMEngine would fail with ``KeyError: 'message_hub'``.
"""
from ...compat.safe_checkpoint import safe_torch_load
from ...models.utils.student import STUDENT_PREFIX


class ResumeRefused(ValueError):
    """A checkpoint ``--resume`` cannot continue from; the message names what to do instead."""


def read_checkpoint(filename: str) -> dict:
    """The checkpoint `filename` as a dict (local files memory-mapped, read safely; {} for anything else)."""
    if '://' in filename:
        from mmengine.runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(filename, map_location='cpu')
    else:
        checkpoint = safe_torch_load(filename, map_location='cpu', mmap=True)
    return checkpoint if isinstance(checkpoint, dict) else {}


def _state_keys(checkpoint: dict):
    state = checkpoint.get('state_dict', checkpoint)
    return [k[len('module.'):] if k.startswith('module.') else k for k in state]


def _group_sizes(optimizer_state) -> list:
    return [len(g['params']) for g in optimizer_state.get('param_groups', [])]


def check_optimizer_groups(optim_wrapper, checkpoint: dict, filename: str) -> None:
    """Raise ``ResumeRefused`` (a ``ValueError``) if the saved optimizer's parameter groups differ from
    ``optim_wrapper``'s."""
    saved = checkpoint.get('optimizer')
    optimizer = getattr(optim_wrapper, 'optimizer', None)
    if not isinstance(saved, dict) or 'param_groups' not in saved or optimizer is None:
        return  # several optimizers (OptimWrapperDict), or nothing to compare
    sizes, current = _group_sizes(saved), [len(g['params']) for g in optimizer.param_groups]
    if sizes != current:
        raise ResumeRefused(
            f'--resume {filename}: its optimizer has {len(sizes)} parameter group(s) of {sizes} parameters, '
            f'this run\'s has {len(current)} of {current}, so its state cannot continue here. Checkpoints written '
            'before the student-only optimizer (DistillOptimWrapperConstructor) held the frozen teacher too; a '
            'changed paramwise_cfg or distiller changes the groups as well. To continue from its weights with a '
            f'fresh optimizer, use load_from={filename} without --resume.')


def check_resumable(checkpoint: dict, filename: str) -> None:
    """Raise ``ResumeRefused`` (a ``ValueError``) if the checkpoint ``filename`` holds no ``architecture.*`` weights."""
    if any(k.startswith(STUDENT_PREFIX) for k in _state_keys(checkpoint)):
        return
    if filename.endswith('_student.pth'):  # StudentCheckpointHook's export of a run's student
        raise ResumeRefused(
            f'--resume {filename}: this is a student-only export (written next to each checkpoint), which holds '
            'no teacher, distiller or training state. Resume from the run\'s own checkpoint (the same name '
            f'without _student), or start the student from this one with load_from={filename} without --resume.')
    raise ResumeRefused(
        f'--resume {filename}: this is a plain model checkpoint (no architecture.* weights), not one '
        'written by a distillation run, so there is nothing of this run to resume. To teach with it, '
        f'set model.teacher_ckpt={filename}; to start the student from it, use load_from={filename} '
        '(--cfg-options load_from=...) without --resume.')


def check_training_state(checkpoint: dict, filename: str) -> None:
    """Raise ``ResumeRefused`` (a ``ValueError``) if ``filename`` lacks the training state ``Runner.resume`` reads
    (``message_hub``, ``meta`` with ``epoch`` and ``iter``)."""
    meta = checkpoint.get('meta')
    if 'message_hub' in checkpoint and isinstance(meta, dict) and {'epoch', 'iter'} <= set(meta):
        return
    lacks = [k for k in ('optimizer', 'message_hub', 'param_schedulers') if k not in checkpoint]
    if not isinstance(meta, dict) or not {'epoch', 'iter'} <= set(meta):
        lacks.append("meta's epoch/iter")
    what = 'weights only' if 'optimizer' not in checkpoint else 'an incomplete training state'
    raise ResumeRefused(
        f'--resume {filename}: it holds {what} ({", ".join(sorted(map(str, checkpoint)))}; no '
        f'{", ".join(lacks)}; published checkpoints are like that), so there is no training state to resume. To '
        f'start from its weights, use load_from={filename} (--cfg-options load_from=...) without --resume.')
