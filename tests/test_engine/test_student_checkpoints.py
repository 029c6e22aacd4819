"""Student-only checkpoints are written beside every checkpoint and load into the plain student."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, MODELS
from mmengine.runner import load_checkpoint

from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
from mmkd_plugin.engine import export_student, student_checkpoint
from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG, STUDENT_CFG, point_det_data, run, runner_cfg


@pytest.fixture(scope='module')
def distill_run(tmp_path_factory, synthetic_coco):
    tmp = tmp_path_factory.mktemp('student_ckpt')
    cfg = runner_cfg(CWD_CFG, str(tmp / 'work'), synthetic_coco['data_root'], 3)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp / 'teacher.pth'))
    cfg.train_cfg.val_interval = 1
    # An untrained student scores below 0.05; keep its boxes so that CocoMetric reports a value.
    cfg.model.architecture.test_cfg.score_thr = 0.0
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                                        save_best='coco/bbox_mAP_50', rule='greater')
    # A user's own file that looks like an export (no `mine.pth` beside it): the hook must keep it.
    (tmp / 'work').mkdir()
    torch.save({}, tmp / 'work' / 'mine_student.pth')
    runner = run(cfg)
    return runner, str(tmp / 'work')


def test_every_checkpoint_has_its_student(distill_run):
    _, work_dir = distill_run
    full = [p for p in glob.glob(osp.join(work_dir, '*.pth')) if not p.endswith('_student.pth')]
    students = glob.glob(osp.join(work_dir, '*_student.pth'))
    students.remove(osp.join(work_dir, 'mine_student.pth'))  # not the hook's: still there
    assert any(osp.basename(p).startswith('best_') for p in full), full
    assert sorted(p[:-len('_student.pth')] + '.pth' for p in students) == sorted(full)
    assert len(full) == 2  # max_keep_ckpts=1 removed the older epochs and their students


def test_student_loads_strictly_into_the_unmodified_student_config(distill_run):
    runner, work_dir = distill_run
    path = osp.join(work_dir, 'epoch_3_student.pth')
    checkpoint = safe_torch_load(path)
    assert set(checkpoint) == {'meta', 'state_dict'}
    assert checkpoint['meta']['dataset_meta']['classes'] == ('square', 'disk', 'triangle')
    assert not any(k.startswith(('architecture.', 'teacher.', 'distiller.')) for k in checkpoint['state_dict'])
    cfg = Config.fromfile(STUDENT_CFG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        student = MODELS.build(cfg.model)
    load_checkpoint(student, path, strict=True)
    for key, value in runner.model.architecture.state_dict().items():
        assert torch.equal(student.state_dict()[key], value), key


def test_student_checkpoint_reproduces_the_distillation_metric(distill_run, synthetic_coco):
    runner, work_dir = distill_run
    distilled = runner.val_loop.run()
    cfg = Config.fromfile(STUDENT_CFG)
    point_det_data(cfg, synthetic_coco['data_root'])
    cfg.work_dir = osp.join(work_dir, 'student_test')
    cfg.model.test_cfg.score_thr = 0.0
    cfg.load_from = osp.join(work_dir, 'epoch_3_student.pth')
    cfg.experiment_name = 'student_metric_check'
    cfg.visualizer.name = cfg.experiment_name
    student_metrics = run(cfg, train=False).test()
    assert student_metrics['coco/bbox_mAP'] == pytest.approx(distilled['coco/bbox_mAP'])
    assert student_metrics['coco/bbox_mAP_50'] == pytest.approx(distilled['coco/bbox_mAP_50'])


def test_export_tool_function_matches_hook_output(distill_run, tmp_path):
    _, work_dir = distill_run
    out = export_student(osp.join(work_dir, 'epoch_3.pth'), str(tmp_path / 'exported.pth'))
    hooked = torch.load(osp.join(work_dir, 'epoch_3_student.pth'))['state_dict']
    exported = torch.load(out)['state_dict']
    assert hooked.keys() == exported.keys()
    assert all(torch.equal(hooked[k], exported[k]) for k in hooked)


def test_plain_checkpoint_is_not_a_distillation_checkpoint():
    with pytest.raises(ValueError, match='not a distillation checkpoint'):
        student_checkpoint(dict(state_dict={'backbone.w': torch.zeros(1)}), 'plain.pth')
