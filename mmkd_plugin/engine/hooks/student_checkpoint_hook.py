"""Write ``<name>_student.pth`` next to every checkpoint the Runner saves."""
import glob
import os
import os.path as osp
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..student_checkpoint import (STUDENT_SUFFIX, export_student, is_student_checkpoint_path,
                                  student_checkpoint_path)


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """Export a student-only checkpoint beside each checkpoint of a distillation run.

    It runs after MMEngine's ``CheckpointHook`` (lower priority) at every point where that hook may
    save (after an iteration, an epoch, a validation, the run), and exports each checkpoint the
    ``CheckpointHook`` points to (``last_ckpt`` and the best ones) whose student file is missing or
    older. Student files whose checkpoint was deleted (``max_keep_ckpts``, a replaced best
    checkpoint) are deleted too. Exports are read back from the saved file, so they are exactly what
    was saved (EMA weights included). In a run without a student (a plain detector), it does nothing.
    """

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.enabled = hasattr(model, 'architecture')
        if not self.enabled:
            print_log('StudentCheckpointHook: the model has no `architecture` (student); nothing to '
                      'export.', logger='current')

    def _checkpoint_hooks(self, runner) -> List[CheckpointHook]:
        return [h for h in runner.hooks if isinstance(h, CheckpointHook)]

    def _sync(self, runner) -> None:
        if not getattr(self, 'enabled', False) or not is_main_process():
            return
        for hook in self._checkpoint_hooks(runner):
            paths = [hook.last_ckpt, getattr(hook, 'best_ckpt_path', None)]
            paths += list(getattr(hook, 'best_ckpt_path_dict', {}).values())
            for path in filter(None, paths):
                self._export_if_stale(str(path), runner)
            if getattr(hook, 'out_dir', None):
                self._remove_orphans(hook.out_dir)

    def _export_if_stale(self, path: str, runner) -> None:
        if is_student_checkpoint_path(path) or not osp.isfile(path):
            return
        dst = student_checkpoint_path(path)
        if osp.isfile(dst) and osp.getmtime(dst) >= osp.getmtime(path):
            return
        export_student(path, dst)
        runner.logger.info(f'Saved the student-only checkpoint {dst}')

    @staticmethod
    def _remove_orphans(out_dir: str) -> None:
        for student in glob.glob(osp.join(out_dir, f'*{STUDENT_SUFFIX}')):
            if not osp.isfile(student[:-len(STUDENT_SUFFIX)] + '.pth'):
                os.remove(student)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._sync(runner)

    def after_train(self, runner) -> None:
        self._sync(runner)
