"""mmseg side of the foundation: a logit distillation run on the generated Cityscapes set."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope, MODELS
from mmengine.runner import load_checkpoint

from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import (REPO, SEG_CWD_CFG, SEG_STUDENT_CFG, point_seg_data, run,
                                         seg_runner_cfg)


@pytest.fixture(scope='module')
def seg_run(tmp_path_factory, synthetic_cityscapes):
    tmp = tmp_path_factory.mktemp('seg')
    cfg = seg_runner_cfg(SEG_CWD_CFG, str(tmp / 'work'), synthetic_cityscapes['data_root'], 4)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp / 'teacher.pth'))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
    runner = run(cfg)
    return runner, str(tmp / 'work'), cfg


def test_iteration_checkpoints_have_students(seg_run):
    _, work_dir, _ = seg_run
    for it in (2, 4):
        assert osp.isfile(osp.join(work_dir, f'iter_{it}_student.pth'))


def test_student_loads_strictly_and_evaluates_like_the_run(seg_run, synthetic_cityscapes):
    runner, work_dir, _ = seg_run
    distilled = runner.val_loop.run()
    cfg = Config.fromfile(SEG_STUDENT_CFG)
    with DefaultScope.overwrite_default_scope('mmseg'):
        student = MODELS.build(cfg.model)
    load_checkpoint(student, osp.join(work_dir, 'iter_4_student.pth'), strict=True)
    point_seg_data(cfg, synthetic_cityscapes['data_root'])
    cfg.work_dir = osp.join(work_dir, 'student_test')
    cfg.load_from = osp.join(work_dir, 'iter_4_student.pth')
    cfg.experiment_name = cfg.visualizer.name = 'seg_student_metric_check'
    metrics = run(cfg, train=False).test()
    assert metrics['mIoU'] == pytest.approx(distilled['mIoU'])


def _evaluate(model, runner):
    """mIoU of ``model`` alone on the run's validation set, with the run's evaluator."""
    evaluator = runner.val_evaluator
    for data in runner.val_dataloader:
        evaluator.process(data_samples=model.val_step(data), data_batch=data)
    return evaluator.evaluate(len(runner.val_dataloader.dataset))['mIoU']


def test_teacher_evaluation_is_an_option(seg_run):
    """SingleTeacherDistillValLoop reports the student's and the teacher's own metrics."""
    runner, _, cfg = seg_run
    from mmrazor.engine import SingleTeacherDistillValLoop
    loop = SingleTeacherDistillValLoop(runner, runner.val_dataloader, runner.val_evaluator)
    loop.run()  # returns nothing; the LoggerHook puts the metrics in the message hub
    student = runner.message_hub.get_scalar('val/mIoU').current()
    teacher = runner.message_hub.get_scalar('val/teacher.mIoU').current()
    assert not any(m.training for m in runner.model.teacher.modules())
    assert teacher == pytest.approx(_evaluate(runner.model.teacher, runner))
    assert student == pytest.approx(_evaluate(runner.model.architecture, runner))


def test_exported_student_config_works_with_mmseg_init_model(seg_run):
    from mmseg.apis import inference_model, init_model
    _, work_dir, _ = seg_run
    config = osp.join(work_dir, 'iter_4_student.py')
    model = init_model(config, osp.join(work_dir, 'iter_4_student.pth'), device='cpu')
    assert type(model).__name__ == 'EncoderDecoder' and model.decode_head.num_classes == 19
    result = inference_model(model, np.full((128, 256, 3), 100, np.uint8))
    assert tuple(result.pred_sem_seg.data.shape) == (1, 128, 256)


def test_teacher_free_distill_trains_through_the_runner(tmp_path, synthetic_cityscapes):
    """USKD in a real Runner: the Runner copies the config's top-level ``data_preprocessor`` (mmseg's, without
    the student's ``size``) into the model dict; the student's own preprocessor must stay in charge."""
    config = osp.join(REPO, 'tools', 'benchmarks', 'suites', 'tiny_cityscapes',
                      'uskd_deeplabv3-r18-w16_synthetic-cityscapes.py')
    cfg = seg_runner_cfg(config, str(tmp_path / 'work'), synthetic_cityscapes['data_root'], 2)
    assert cfg.get('data_preprocessor') is not None and 'size' not in cfg.data_preprocessor
    runner = run(cfg)
    assert runner.model.data_preprocessor.size == tuple(cfg.model.architecture.data_preprocessor.size)
    assert runner.iter == 2
