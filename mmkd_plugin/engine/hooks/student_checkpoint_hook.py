"""Write ``<name>_student.pth`` next to every checkpoint the Runner saves."""
import os
import os.path as osp
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...models.utils.student import student_of, unwrap
from ..student_checkpoint import (STUDENT_SUFFIX, export_student, is_student_checkpoint_path,
                                  student_checkpoint_path, student_config_path)


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Export a student-only checkpoint (and the student's config, ``*_student.py``) beside each
    checkpoint of a distillation run.

    It runs after MMEngine's ``CheckpointHook`` (lower priority) at every point where that hook may
    save (after an iteration, an epoch, a validation, the run), and exports each checkpoint the
    ``CheckpointHook`` points to (``last_ckpt`` and the best ones) whose student file is missing or
    older; when none of them changed since its last look it does nothing (a few ``stat`` calls). A
    student file it wrote is deleted when its checkpoint is (``max_keep_ckpts``, a replaced best
    checkpoint); files it did not write are never touched. Exports are read back from the saved file,
    so they are exactly what was saved (EMA weights included). In a run without a student (a plain
    detector), it does nothing.
    """

    mmkd_plugin_hook = True  # left out of the exported student's config (engine/student_config.py)

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._written = set()  # student files this hook wrote, the only ones it may delete

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        self.enabled = student_of(model) is not None
        if not self.enabled:
            print_log('StudentCheckpointHook: the model has no `architecture` (student); nothing to '
                      'export.', logger='current')

    def _checkpoint_hooks(self, runner) -> List[CheckpointHook]:
        return [h for h in runner.hooks if isinstance(h, CheckpointHook)]

    def _sync(self, runner) -> None:
        if not getattr(self, 'enabled', False) or not is_main_process():
            return
        paths = []
        for hook in self._checkpoint_hooks(runner):
            paths += [hook.last_ckpt, getattr(hook, 'best_ckpt_path', None)]
            paths += list(getattr(hook, 'best_ckpt_path_dict', {}).values())
        state = tuple((p, osp.getmtime(p)) for p in map(str, filter(None, paths)) if osp.isfile(p))
        if state == getattr(self, '_seen', None):
            return
        self._seen = state
        for path, _ in state:
            self._export_if_stale(path, runner)
        for student in sorted(self._written):
            if not osp.isfile(student[:-len(STUDENT_SUFFIX)] + '.pth'):
                for path in (student, student_config_path(student)):
                    if osp.isfile(path):
                        os.remove(path)
                self._written.discard(student)

    def _export_if_stale(self, path: str, runner) -> None:
        if is_student_checkpoint_path(path):
            return
        dst = student_checkpoint_path(path)
        if osp.isfile(dst) and osp.getmtime(dst) >= osp.getmtime(path):
            return
        export_student(path, dst)
        self._written.add(dst)
        runner.logger.info(f'Saved the student-only checkpoint {dst}')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._sync(runner)

    def after_train(self, runner) -> None:
        self._sync(runner)
