"""The student config's own hooks (EMA, pipeline/mode switch, SyncNorm, class check) act on the student.

RTMDet-tiny and YOLOX-tiny students keep their configs' ``custom_hooks`` in a distillation run from an
80-class teacher (tests/fixtures/configs); ``StudentViewHook``, which ``DistillRunner`` adds to every run,
points those hooks at the student.
"""
import os.path as osp

import pytest
import torch
from mmengine.hooks import EMAHook
from mmengine.registry import DefaultScope

from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import TEST_CONFIGS, logged_scalars, run, runner_cfg

RTMDET = osp.join(TEST_CONFIGS, 'cwd_rtmdet-tiny_synthetic-coco.py')
YOLOX = osp.join(TEST_CONFIGS, 'cwd_yolox-tiny_synthetic-coco.py')


def distill_cfg(config, work_dir, synthetic_coco, max_epochs, **overrides):
    cfg = runner_cfg(config, str(work_dir), synthetic_coco['data_root'], max_epochs, **overrides)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(work_dir / 'teacher.pth'))
    return cfg


def ema_hook(runner) -> EMAHook:
    return next(h for h in runner.hooks if isinstance(h, EMAHook))


def assert_ema_of_student_only(runner):
    ema = ema_hook(runner).ema_model.module
    student = runner.model.architecture
    assert type(ema) is type(student)
    assert sum(p.numel() for p in ema.parameters()) == sum(p.numel() for p in student.parameters())


@pytest.fixture(scope='module')
def rtmdet_run(tmp_path_factory, synthetic_coco):
    work_dir = tmp_path_factory.mktemp('rtmdet_hooks')
    return run(distill_cfg(RTMDET, work_dir, synthetic_coco, max_epochs=2)), work_dir


def test_rtmdet_pipeline_switch_and_ema_act_on_the_student(rtmdet_run):
    runner, _ = rtmdet_run
    # PipelineSwitchHook ran at epoch 1: the stage-2 pipeline (no RandomFlip) is in place.
    names = [type(t).__name__ for t in runner.train_dataloader.dataset.pipeline.transforms]
    assert names == ['LoadImageFromFile', 'LoadAnnotations', 'Resize', 'Pad', 'PackDetInputs']
    assert_ema_of_student_only(runner)


def test_exported_student_is_the_ema_student(rtmdet_run):
    runner, work_dir = rtmdet_run
    averaged = ema_hook(runner).ema_model.state_dict()
    saved = torch.load(str(work_dir / 'epoch_2.pth'), weights_only=False)
    exported = torch.load(str(work_dir / 'epoch_2_student.pth'))['state_dict']
    raw = runner.model.architecture.state_dict()
    assert exported.keys() == raw.keys()
    for key, value in exported.items():
        assert torch.equal(value, averaged['module.' + key]), key
        assert torch.equal(saved['state_dict']['architecture.' + key], value), key
        # The raw weights sit in the checkpoint's EMA slot, swapped as MMEngine does for a plain model.
        assert torch.equal(saved['ema_state_dict']['module.' + key], raw[key].cpu()), key
    assert any(not torch.equal(exported[k], raw[k]) for k in raw if raw[k].is_floating_point())
    assert not any(k.startswith('teacher') for k in saved['ema_state_dict'])


def test_resume_restores_the_ema_of_the_student(rtmdet_run, synthetic_coco, tmp_path):
    _, work_dir = rtmdet_run
    saved = torch.load(str(work_dir / 'epoch_1.pth'), weights_only=False)
    cfg = distill_cfg(RTMDET, tmp_path, synthetic_coco, max_epochs=1,
                      resume=True, load_from=str(work_dir / 'epoch_1.pth'))
    runner = run(cfg)  # epoch 1 of 1 is done: loads the checkpoint, trains nothing
    averaged = ema_hook(runner).ema_model.state_dict()
    for key, value in runner.model.architecture.state_dict().items():
        assert torch.equal(averaged['module.' + key], saved['state_dict']['architecture.' + key]), key
        assert torch.equal(value, saved['ema_state_dict']['module.' + key]), key


def test_without_student_view_the_class_check_meets_the_teacher(synthetic_coco, tmp_path):
    cfg = distill_cfg(RTMDET, tmp_path, synthetic_coco, max_epochs=1)
    cfg.default_hooks.student_view = dict(type='StudentViewHook', hooks=[])  # redirect nothing
    with pytest.raises(AssertionError, match='num_classes'):
        run(cfg)


def test_yolox_mode_switch_turns_on_the_students_l1_loss(synthetic_coco, tmp_path):
    runner = run(distill_cfg(YOLOX, tmp_path, synthetic_coco, max_epochs=3))
    assert runner.model.architecture.bbox_head.use_l1 is True
    assert runner.model.teacher.bbox_head.use_l1 is False
    assert runner.train_dataloader.dataset._skip_type_keys == ('Mosaic', 'RandomAffine', 'MixUp')
    records = logged_scalars(str(tmp_path))
    # mmdet switches when epoch_index + 1 >= max_epochs - num_last_epochs: before the 2nd of 3 epochs.
    assert records and not any('student.loss_l1' in r for r in records if r['epoch'] == 1)
    assert all('student.loss_l1' in r for r in records if r['epoch'] > 1)
    assert_ema_of_student_only(runner)


def test_resume_with_other_optimizer_groups_is_refused_before_loading(rtmdet_run, synthetic_coco, tmp_path):
    """A checkpoint whose optimizer holds other groups (one written before the student-only optimizer
    held the teacher too) is refused with the fix, not torch's size mismatch after a partial load."""
    _, work_dir = rtmdet_run
    saved = torch.load(str(work_dir / 'epoch_1.pth'), weights_only=False)
    groups = saved['optimizer']['param_groups']
    groups[0]['params'] = [p for g in groups for p in g['params']]
    del groups[1:]
    torch.save(saved, str(tmp_path / 'old.pth'))
    (tmp_path / 'run').mkdir()
    cfg = distill_cfg(RTMDET, tmp_path / 'run', synthetic_coco, max_epochs=2, resume=True,
                      load_from=str(tmp_path / 'old.pth'))
    with pytest.raises(ValueError, match=r'its optimizer has 1 parameter group.*use load_from=.*without --resume'):
        run(cfg)


def test_a_hook_that_runs_before_the_student_view_is_an_error(synthetic_coco, tmp_path):
    cfg = distill_cfg(RTMDET, tmp_path, synthetic_coco, max_epochs=1)
    cfg.custom_hooks[0].priority = 'HIGHEST'  # EMAHook, registered before StudentViewHook
    with pytest.raises(RuntimeError, match="EMAHook .* runs before StudentViewHook"):
        run(cfg)


def test_checkpoint_view_strips_the_prefix_and_writes_back():
    from mmkd_plugin.engine.hooks.student_view_hook import student_checkpoint_view, write_back
    algorithm = torch.nn.ModuleDict(dict(architecture=torch.nn.BatchNorm2d(2), teacher=torch.nn.Conv2d(1, 1, 1)))
    checkpoint = dict(state_dict=algorithm.state_dict(), meta=dict(epoch=1))
    view, prefixed = student_checkpoint_view(checkpoint)
    assert prefixed and list(view['state_dict']) == list(torch.nn.BatchNorm2d(2).state_dict())
    assert view['state_dict']._metadata[''] == checkpoint['state_dict']._metadata['architecture']
    view['state_dict']['weight'] = torch.full((2, ), 7.0)  # a swap, as EMAHook does
    del view['state_dict']['num_batches_tracked']
    view['ema_state_dict'] = dict(steps=3)
    write_back(checkpoint, view, prefixed)
    assert torch.equal(checkpoint['state_dict']['architecture.weight'], torch.full((2, ), 7.0))
    assert 'architecture.num_batches_tracked' not in checkpoint['state_dict']
    assert 'teacher.weight' in checkpoint['state_dict'] and checkpoint['ema_state_dict'] == dict(steps=3)
    bare = dict(weight=torch.ones(1))  # a bare state dict given to load_from is its own view
    assert student_checkpoint_view(dict(state_dict=bare)) == (dict(state_dict=bare), False)


def test_only_the_callbacks_a_hook_implements_are_redirected():
    from mmdet.engine.hooks import NumClassCheckHook
    from mmkd_plugin.engine.hooks.student_view_hook import redirect_to_student
    ema, check = EMAHook(), NumClassCheckHook()
    redirect_to_student(ema, torch.nn.Linear(1, 1))
    redirect_to_student(check, torch.nn.Linear(1, 1))
    assert {'before_run', 'before_save_checkpoint', 'after_load_checkpoint'} <= set(vars(ema))
    assert 'before_train_epoch' in vars(check) and 'after_load_checkpoint' not in vars(check)


def test_pskd_snapshot_is_the_raw_student_when_ema_is_on(synthetic_coco, tmp_path):
    """PS-KD on RTMDet-tiny with RTMDet's EMAHook (configs/pskd/pskd_rtmdet-tiny_300e_coco.py's recipe),
    validating every epoch: the snapshot taken at the start of epoch 2 holds the raw weights of the end of
    epoch 1 (saved in epoch_1.pth's ema_state_dict), not the averaged ones EMA swaps in for validation."""
    rtmdet = osp.join(TEST_CONFIGS, 'rtmdet-tiny_synthetic-coco.py')
    cfg = runner_cfg(rtmdet, str(tmp_path), synthetic_coco['data_root'], 2)
    cfg.train_cfg.val_interval = 1
    cfg.model.bbox_head.loss_cls = dict(type='mmrazor.PSKDQualityFocalLoss', use_sigmoid=True, beta=2.0)
    cfg.default_hooks.pskd = dict(type='PSKDHook', alpha_T=0.2, mode='snapshot')
    run(cfg)
    first = torch.load(str(tmp_path / 'epoch_1.pth'), weights_only=False)
    snapshot = torch.load(str(tmp_path / 'epoch_2.pth'), weights_only=False)['pskd']['snapshot']
    assert snapshot.keys() == first['state_dict'].keys()
    for key, value in snapshot.items():
        assert torch.equal(value, first['ema_state_dict']['module.' + key]), key  # the raw weights
    assert any(not torch.equal(v, first['state_dict'][k]) for k, v in snapshot.items() if v.is_floating_point())
