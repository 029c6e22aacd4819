"""``DistillRunner`` does what a distillation run needs; a plain MMEngine Runner is left as it was.

``import mmkd_plugin`` changes no attribute of ``mmengine.runner.Runner``, and a plain mmdet run in a
process that imported the plugin has the same hooks, optimizer groups, random state and weights as one
without it (each run in a fresh process, one with and one without the import). A distillation config
without ``runner_type`` is refused when a plain Runner builds it, naming the fix.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd_devtools.testing.smoke import write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG, REPO, STUDENT_CFG, build_runner, runner_cfg

PLAIN_RUN = r'''
import json, random, sys
import numpy as np, torch
from mmengine.config import Config
from mmengine.runner import Runner
import mmengine.runner
before = {k: id(v) for k, v in vars(mmengine.runner.Runner).items()}
if sys.argv[1] == 'plugin':
    import mmkd_plugin  # noqa: F401
after = {k: id(v) for k, v in vars(mmengine.runner.Runner).items()}
cfg = Config.fromfile(sys.argv[2])
cfg.pop('runner_type'); cfg.pop('custom_imports')  # the student config as a plain mmdet config
root = sys.argv[3].rstrip('/') + '/'
for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    cfg[key].dataset.data_root = root
cfg.train_dataloader.dataset.indices = 4
cfg.train_dataloader.batch_size = 2
cfg.train_dataloader.num_workers = 0
cfg.train_dataloader.persistent_workers = False
cfg.train_cfg.max_epochs = 2
cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
cfg.default_hooks.checkpoint = None
cfg.default_hooks.pop('visualization')
cfg.work_dir = sys.argv[4]
runner = Runner.from_cfg(cfg)
runner.train()
groups = [(len(g['params']), g['lr'], g.get('weight_decay')) for g in runner.optim_wrapper.optimizer.param_groups]
weights = float(sum(p.double().abs().sum() for p in runner.model.parameters()))
print(json.dumps(dict(
    runner_unchanged=before == after, runner_class=type(runner).__name__,
    hooks=[(type(h).__name__, h.priority) for h in runner.hooks], groups=groups, weights=weights,
    random=[random.random(), float(np.random.rand()), float(torch.rand(1))])))
'''


def _plain_run(with_plugin: bool, data_root: str, work_dir: str) -> dict:
    result = subprocess.run(
        [sys.executable, '-c', PLAIN_RUN, 'plugin' if with_plugin else 'none', STUDENT_CFG, data_root, work_dir],
        cwd=REPO, capture_output=True, text=True, env=dict(__import__('os').environ, PYTHONWARNINGS='ignore'))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_plain_runner_is_the_same_with_and_without_the_plugin(synthetic_coco, tmp_path):
    without = _plain_run(False, synthetic_coco['data_root'], str(tmp_path / 'without'))
    with_plugin = _plain_run(True, synthetic_coco['data_root'], str(tmp_path / 'with'))
    assert with_plugin['runner_unchanged'] and with_plugin['runner_class'] == 'Runner'
    assert 'ReseedHook' not in {name for name, _ in with_plugin['hooks']}
    assert 'StudentViewHook' not in {name for name, _ in with_plugin['hooks']}
    assert with_plugin['hooks'] == without['hooks']
    assert with_plugin['groups'] == without['groups']
    assert with_plugin['random'] == without['random']  # the same draws after two epochs
    assert with_plugin['weights'] == without['weights']  # the same two epochs


def test_a_distillation_config_without_runner_type_is_refused_by_a_plain_runner(synthetic_coco, tmp_path):
    cfg = runner_cfg(CWD_CFG, str(tmp_path / 'w'), synthetic_coco['data_root'], 1)
    assert cfg.runner_type == 'DistillRunner'  # the plugin's configs (and what inherits them) set it
    cfg.pop('runner_type')
    with pytest.raises(TypeError, match=r"TeacherDistill is being built by Runner, not by mmkd_plugin's "
                                        r"DistillRunner.*runner_type = 'DistillRunner'.*--cfg-options "
                                        r"runner_type=DistillRunner"):
        Runner.from_cfg(cfg)


def test_distill_runner_gives_a_distillation_run_its_hooks_and_optimizer(synthetic_coco, tmp_path):
    from mmkd_plugin.engine import DistillRunner
    from mmkd_plugin.engine.hooks import ReseedHook, StudentViewHook
    cfg = runner_cfg(CWD_CFG, str(tmp_path / 'w'), synthetic_coco['data_root'], 1)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp_path / 'teacher.pth'))
    runner = build_runner(cfg)
    assert isinstance(runner, DistillRunner)
    runner._register_missing(StudentViewHook, ReseedHook)  # what train() registers first
    assert sum(isinstance(h, StudentViewHook) for h in runner.hooks) == 1
    assert sum(isinstance(h, ReseedHook) for h in runner.hooks) == 1
    runner._register_missing(StudentViewHook, ReseedHook)  # not twice
    assert sum(isinstance(h, (StudentViewHook, ReseedHook)) for h in runner.hooks) == 2
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    params = {id(p) for g in optim_wrapper.optimizer.param_groups for p in g['params']}
    assert params == {id(p) for p in runner.model.architecture.parameters()}  # CWD: the student only
    assert not params & {id(p) for p in runner.model.teacher.parameters()}


def test_the_plugin_runner_is_found_by_mmengines_registry():
    from mmengine.registry import RUNNERS
    import mmkd_plugin  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'retinanet_r18_synthetic-coco.py'))
    assert cfg.runner_type == 'DistillRunner' and RUNNERS.get(cfg.runner_type).distillation_runner


def test_every_config_that_imports_the_plugin_selects_distill_runner():
    """configs/ and the benchmark suites' model configs: a config that imports the plugin (every
    distillation config, PS-KD's and the synthetic baselines) builds DistillRunner, so the stock train
    scripts pick it up; the resolved config is what counts (a child inherits the line)."""
    import glob
    import mmkd_plugin  # noqa: F401
    paths = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
             + glob.glob(osp.join(REPO, 'tools', 'benchmarks', 'suites', '*', '*.py'))
             if '_base_' not in p.split(osp.sep)]
    assert len(paths) > 60
    missing = []
    for path in paths:
        cfg = Config.fromfile(path)
        if 'mmkd_plugin' in str(cfg.get('custom_imports')) and cfg.get('runner_type') != 'DistillRunner':
            missing.append(osp.relpath(path, REPO))
    assert not missing
