"""Every config under configs/, and every model config of the benchmarks (tools/benchmarks/suites/*/), builds
offline and runs one training iteration at a tiny size.

MMRazor's shipped configs drifted from mmdet 3.x because nothing ran them (peers.md §1.9); here each
config is loaded with Config.fromfile, its model built with the strict teacher loading (from a
checkpoint of the teacher's own random weights) and stepped once; every loss must be finite.
"""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config

from mmkd_devtools.testing import smoke_train_step

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The shipped model configs, and the benchmarks' own model configs (MMRazor's methods on the published pairs,
# the tiny suites' variants) in the folders beside the accuracy suites; the suites themselves
# (tools/benchmarks/suites/*.py) are not model configs, tests/test_tools checks they load.
SUITES = osp.join(REPO, 'tools', 'benchmarks', 'suites')
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if f'{osp.sep}_base_{osp.sep}' not in p)
BENCHMARK_CONFIGS = sorted(glob.glob(osp.join(SUITES, '*', '*.py')))


def test_every_config_folder_is_stepped():
    folders = {osp.relpath(osp.dirname(p), osp.join(REPO, 'configs')) for p in CONFIGS}
    assert folders == {'acam_kd', 'hard', 'mcmi', 'nkd', 'uskd', 'pskd', 'demo'}
    folders = {osp.relpath(osp.dirname(p), SUITES) for p in BENCHMARK_CONFIGS}
    assert folders == {'tiny_coco', 'tiny_coco_two_stage', 'tiny_cityscapes', 'coco', 'cityscapes'}
    assert not glob.glob(osp.join(SUITES, '*', '**', '*', '*.py'), recursive=True)  # nothing deeper unstepped


def config_id(path: str) -> str:
    return osp.relpath(path, osp.join(REPO, 'configs') if path in CONFIGS else REPO)


@pytest.mark.parametrize('config', CONFIGS + BENCHMARK_CONFIGS, ids=config_id)
def test_config_builds_and_steps(config, tmp_path):
    cfg = Config.fromfile(config)
    log_vars = smoke_train_step(cfg, str(tmp_path))
    assert 'loss' in log_vars
    for name, value in log_vars.items():
        assert math.isfinite(float(value)), f'{name} = {value}'
    if 'architecture' in cfg.model:  # a distillation algorithm, with or without a teacher
        assert any(k.startswith('distill.') for k in log_vars), sorted(log_vars)
