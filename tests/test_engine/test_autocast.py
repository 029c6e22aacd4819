"""bf16 autocast on CPU (AutocastOptimWrapper, what `tools/train.py --amp` uses without a GPU)."""
import math

import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

from mmkd_plugin.engine.optimizers import AutocastOptimWrapper
from mmkd_devtools.testing import packed_det_batch, write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG


def test_distillation_step_runs_in_bfloat16(tmp_path):
    cfg = Config.fromfile(CWD_CFG).model
    cfg.teacher_ckpt = write_random_teacher(cfg, str(tmp_path / 'teacher.pth'))
    model = MODELS.build(cfg)
    model.init_weights()
    dtypes = {}
    model.architecture.neck.fpn_convs[0].conv.register_forward_hook(
        lambda m, i, o: dtypes.setdefault('student', o.dtype) and None)
    model.teacher.neck.fpn_convs[0].conv.register_forward_hook(
        lambda m, i, o: dtypes.setdefault('teacher', o.dtype) and None)
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.01))
    before = model.architecture.neck.fpn_convs[0].conv.weight.detach().clone()
    losses = model.train_step(packed_det_batch(), wrapper)
    assert dtypes == {'student': torch.bfloat16, 'teacher': torch.bfloat16}
    assert all(math.isfinite(float(v)) for v in losses.values())
    assert model.architecture.neck.fpn_convs[0].conv.weight.dtype == torch.float32
    assert not torch.equal(before, model.architecture.neck.fpn_convs[0].conv.weight)
