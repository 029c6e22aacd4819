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
import torch
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


def _fp16_autocast(cfg: Config) -> None:
    """The config's optimiser wrapper under ``torch.autocast('cpu', dtype=torch.float16)``: the GPU's ``--amp``
    precision (without its loss scaling, which only rescales the gradients) on this machine's CPU."""
    cfg.optim_wrapper.type = 'AutocastOptimWrapper'
    cfg.optim_wrapper.dtype = 'float16'
    cfg.optim_wrapper.pop('loss_scale', None)


# mmcv 2.1.0's CPU nms kernel takes float32 only (its CUDA kernel takes fp16 too), so a region proposal network's
# post-processing stops there under CPU fp16 autocast, in the stock detector as in a distilled one; the GPU check
# steps these configs under --amp on the GPU (tools/gpu_check.py).
RPN_ON_CPU = 'an RPN under CPU fp16 autocast: mmcv 2.1.0\'s CPU nms kernel takes float32 only (its CUDA one fp16)'


@pytest.mark.parametrize('config', CONFIGS, ids=config_id)
def test_config_steps_under_cpu_fp16_autocast(config, tmp_path):
    """Issue 39, item 3: fp16 on CPU as the GPU's proxy. Every shipped config's step under fp16 autocast, so that
    the dtype errors users met with MMRazor under fp16 (connectors, masks, losses mixing dtypes) show here: the
    convolutions run in fp16, every loss is finite, and the student's weights stay float32 and finite after
    the update. The segmentation step runs at 32x64: CPU fp16 convolutions are slow (a dilated R101 teacher at
    64x128 takes 20 s), and the dtypes do not depend on the size."""
    from mmkd_devtools.testing.smoke import smoke_model
    from mmkd_plugin.models.utils.student import student_of
    cfg = Config.fromfile(config)
    _fp16_autocast(cfg)
    model, batch = smoke_model(cfg, str(tmp_path), seg_size=(32, 64))
    student = student_of(model, model)
    if getattr(student, 'with_rpn', False):
        pytest.skip(RPN_ON_CPU)
    dtypes = set()
    handles = [m.register_forward_hook(lambda _m, _i, out: dtypes.add(out.dtype))
               for m in student.modules() if isinstance(m, torch.nn.Conv2d)]
    log_vars = smoke_train_step(cfg, str(tmp_path), built=(model, batch))
    for handle in handles:
        handle.remove()
    assert torch.float16 in dtypes, dtypes
    for name, value in log_vars.items():
        assert math.isfinite(float(value)), f'{name} = {value}'
    if 'architecture' in cfg.model:
        assert any(k.startswith('distill.') for k in log_vars), sorted(log_vars)
    for name, param in student.named_parameters():
        assert param.dtype == torch.float32 and torch.isfinite(param).all(), name
