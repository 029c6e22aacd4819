"""Let the hooks of the student's own config act on the student of a distillation run."""
import functools
from collections import OrderedDict
from typing import Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.utils import is_method_overridden

from ...models.utils.student import STUDENT_PREFIX, student_of, unwrap

# Hooks of MMEngine, MMDetection and MMSegmentation that reach into `runner.model` as if it were the
# detector or segmentor itself (attributes, every module, every parameter, the checkpoint's keys).
STUDENT_HOOKS = ('EMAHook', 'YOLOXModeSwitchHook', 'SyncNormHook', 'NumClassCheckHook', 'SetEpochInfoHook')


class StudentRunner:
    """The runner as a hook written for a plain model expects it: ``model`` is the student.

    Every other attribute, read or written, is the real runner's.
    """

    def __init__(self, runner, student) -> None:
        self.__dict__.update(_runner=runner, model=student)

    def __getattr__(self, name: str):
        return getattr(self._runner, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._runner, name, value)


def student_checkpoint_view(checkpoint: dict) -> Tuple[dict, bool]:
    """The checkpoint as the student alone would have it: ``state_dict`` without ``architecture.``.

    Returns the view and whether the keys were prefixed (a plain student checkpoint, loaded with
    ``load_from``, is its own view). The view shares every value with ``checkpoint``; the state dict's
    ``_metadata`` (module versions) is carried over with the same prefix removed.
    """
    state = checkpoint['state_dict']
    prefixed = any(key.startswith(STUDENT_PREFIX) for key in state)
    if prefixed:
        student = OrderedDict((key[len(STUDENT_PREFIX):], value) for key, value in state.items()
                              if key.startswith(STUDENT_PREFIX))
        metadata = getattr(state, '_metadata', None)
        if metadata is not None:
            student._metadata = OrderedDict(
                (key[len(STUDENT_PREFIX):] if key.startswith(STUDENT_PREFIX) else '', value)
                for key, value in metadata.items() if key.startswith(STUDENT_PREFIX) or key == 'architecture')
        state = student
    return dict(checkpoint, state_dict=state), prefixed


def write_back(checkpoint: dict, view: dict, prefixed: bool) -> None:
    """Copy what a hook changed in ``view`` (new keys, swapped student weights) into ``checkpoint``."""
    for key in set(checkpoint) - set(view):
        del checkpoint[key]
    for key, value in view.items():
        if key != 'state_dict':
            checkpoint[key] = value
    if prefixed:
        state = checkpoint['state_dict']
        for key in [k for k in state if k.startswith(STUDENT_PREFIX)]:
            if key[len(STUDENT_PREFIX):] not in view['state_dict']:
                del state[key]
        for key, value in view['state_dict'].items():
            state[STUDENT_PREFIX + key] = value


def _call_on_student(callback, student, stage: str, runner, *args, **kwargs):
    student_runner = StudentRunner(runner, student)
    if stage not in ('before_save_checkpoint', 'after_load_checkpoint'):
        return callback(student_runner, *args, **kwargs)
    checkpoint = kwargs.pop('checkpoint') if 'checkpoint' in kwargs else args[0]
    if not isinstance(checkpoint.get('state_dict'), dict):  # a bare state dict given to load_from
        return callback(student_runner, checkpoint=checkpoint)
    view, prefixed = student_checkpoint_view(checkpoint)
    result = callback(student_runner, checkpoint=view)
    write_back(checkpoint, view, prefixed)
    return result


def redirect_to_student(hook: Hook, student) -> None:
    """Make every callback that ``hook`` implements see ``runner.model`` as ``student`` and the
    checkpoint's ``state_dict`` as the student's keys. The hook stays the same object (``isinstance``
    checks and references to it keep working)."""
    for stage in Hook.stages:
        if not is_method_overridden(stage, Hook, hook):
            continue
        callback = getattr(hook, stage)
        setattr(hook, stage, functools.partial(_call_on_student, callback, student, stage))
    hook._acts_on_student = True


@HOOKS.register_module()
class StudentViewHook(Hook):
    """Make the student config's own hooks act on the student, not on the distillation wrapper.

    A student config's ``custom_hooks`` (RTMDet's and YOLOX's ``EMAHook``, ``YOLOXModeSwitchHook``,
    ``SyncNormHook``, ``NumClassCheckHook``) were written for ``runner.model`` being the detector or
    segmentor. In a distillation run it is the algorithm (student + frozen teacher + distiller), so
    ``model.bbox_head`` does not exist, EMA would average the teacher and the distiller too, and a
    class-number check would meet the teacher's head. Before anything else runs (priority
    ``HIGHEST``), this hook gives each such hook a runner whose ``model`` is the student
    (``architecture``) and, at ``before_save_checkpoint`` / ``after_load_checkpoint``, a checkpoint
    whose ``state_dict`` holds the student's keys only; what the hook writes there goes back into the
    real checkpoint. With ``EMAHook`` the saved ``architecture.*`` weights are the averaged ones (as
    for a plain model), so ``StudentCheckpointHook`` exports the EMA student, and validation evaluates
    it.

    ``DistillRunner`` registers it for every run (``runner_type = 'DistillRunner'``); list it in
    ``default_hooks`` only to change ``hooks``. Put the plugin's own hooks in ``default_hooks`` too (a
    dict, merged with the student config's), so that the student's ``custom_hooks`` list is inherited,
    not replaced::

        default_hooks = dict(student_checkpoint=dict(type='StudentCheckpointHook'))

    Args:
        hooks: class names (a hook's class or any base class) of the hooks to redirect; the default
            covers MMEngine's, MMDetection's and MMSegmentation's hooks that touch the model. Hooks
            that only touch the data (``PipelineSwitchHook``) need nothing. In a run without a student
            (a plain detector) the hook does nothing.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'HIGHEST'

    def __init__(self, hooks: Sequence[str] = STUDENT_HOOKS) -> None:
        self.hook_types = tuple(hooks)

    def before_run(self, runner) -> None:
        model = unwrap(runner.model)
        student = student_of(model)
        if student is None:
            return
        ran = True  # hooks before this one in the list have run their before_run already
        for hook in runner.hooks:
            if hook is self:
                ran = False
                continue
            names = {cls.__name__ for cls in type(hook).__mro__}
            if getattr(hook, '_acts_on_student', False) or not names & set(self.hook_types):
                continue
            if ran and is_method_overridden('before_run', Hook, hook):
                raise RuntimeError(
                    f'{type(hook).__name__} (priority {hook.priority}) runs before StudentViewHook, so its '
                    'before_run has seen the whole distillation model (EMA of the teacher too). Give '
                    f"StudentViewHook priority 'HIGHEST' and {type(hook).__name__} a lower one.")
            redirect_to_student(hook, student)
            print_log(f'StudentViewHook: {type(hook).__name__} acts on the student '
                      f'({type(student).__name__}).', logger='current')
