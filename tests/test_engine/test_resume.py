"""An interrupted and resumed distillation run continues exactly like an uninterrupted one, random
augmentation (the demo's RandomFlip) included: ReseedHook reseeds every epoch from the run's seed."""
import os.path as osp

import pytest
import torch

from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG, REPO, logged_scalars, run, runner_cfg


HARD_CFG = osp.join(REPO, 'tools', 'benchmarks', 'suites', 'tiny_coco',
                    'hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')


def _cfg(work_dir, data_root, teacher, max_epochs, config=CWD_CFG, **kw):
    cfg = runner_cfg(config, str(work_dir), data_root, max_epochs, **kw)
    assert any(t.type == 'RandomFlip' for t in cfg.train_dataloader.dataset.pipeline)
    cfg.train_dataloader.batch_size = 2
    cfg.model.teacher_ckpt = teacher
    cfg.default_hooks.checkpoint.interval = 1
    return cfg


@pytest.mark.parametrize('config', [CWD_CFG, HARD_CFG], ids=['cwd', 'hard'])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, synthetic_coco, config):
    """HARD: the augmentor, its optimizer's state and its step count continue too."""
    data_root = synthetic_coco['data_root']
    probe = runner_cfg(config, str(tmp_path / 'probe'), data_root, 1)
    teacher = write_random_teacher(probe.model, str(tmp_path / 'teacher.pth'))

    full = run(_cfg(tmp_path / 'full', data_root, teacher, 2, config))
    run(_cfg(tmp_path / 'split', data_root, teacher, 1, config))
    resumed = run(_cfg(tmp_path / 'split', data_root, teacher, 2, config, resume=True))

    iters_per_epoch = len(full.train_dataloader)
    full_logs = [r for r in logged_scalars(str(tmp_path / 'full')) if r['step'] > iters_per_epoch]
    resumed_logs = [r for r in logged_scalars(str(tmp_path / 'split')) if r['step'] > iters_per_epoch]
    assert len(full_logs) == len(resumed_logs) == iters_per_epoch >= 4
    loss_keys = [k for k in full_logs[0] if 'loss' in k]
    assert any(k.startswith('distill.') for k in loss_keys)
    for a, b in zip(full_logs, resumed_logs):
        assert a['step'] == b['step']
        for key in loss_keys + ['lr']:
            assert abs(a[key] - b[key]) <= 1e-5 * max(1.0, abs(a[key])), (a['step'], key, a[key], b[key])

    full_state = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        if key == '_extra_state':  # HARD: the augmentor's optimizer
            for a, b in zip(value['augmentor_optimizer']['state'].values(),
                            full_state[key]['augmentor_optimizer']['state'].values()):
                torch.testing.assert_close(a['exp_avg'], b['exp_avg'], rtol=1e-5, atol=1e-7)
                assert a['step'] == b['step']
            continue
        torch.testing.assert_close(value, full_state[key], rtol=1e-5, atol=1e-6, msg=key)
    assert osp.isfile(tmp_path / 'split' / 'epoch_1_student.pth')
