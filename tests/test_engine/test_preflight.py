"""The preflight (mmkd_plugin/engine/preflight, docs/preflight.md): real DistillRunner runs on the generated COCO
set, each refused before its first step or trained unchanged.

A teacher trained here for a few epochs is the good one; a teacher with random weights, another's classes,
a loss on a detached tensor, an infinite loss, a zero-weight loss and one 1e4 times too large are the bad
inputs. The other test files build their runs with the preflight skipped (tests/fixtures/runner_utils.py).
"""
import contextlib
import os
import os.path as osp
import random
import socket

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmkd_plugin  # noqa: F401  first: its torch 2 fixes for MMRazor (mmkd_plugin/compat)
from mmrazor.models.losses import ChannelWiseDivergence
from mmrazor.registry import MODELS as RAZOR_MODELS

from mmkd_devtools.testing.preflight import smoke_preflight
from mmkd_devtools.testing.smoke import write_random_teacher
from mmkd_plugin.engine.preflight import PreflightError, PreflightHook, preserved_state, read_settings
from mmkd_plugin.engine.preflight import run as preflight_run
from mmkd_plugin.engine.preflight.metafile import published_metric, stock_config_paths
from tests.fixtures.runner_utils import CWD_CFG, REPO, TEACHER_CFG, build_runner, runner_cfg

LEVELS = [f'distill.loss_cwd_p{i}' for i in range(3, 8)]


@RAZOR_MODELS.register_module(force=True)
class PreflightDetachedCWD(ChannelWiseDivergence):
    """CWD on a detached student map: what a recorder on a tensor without gradient gives."""

    def forward(self, preds_S, preds_T):
        return super().forward(preds_S.detach(), preds_T)


@RAZOR_MODELS.register_module(force=True)
class PreflightInfiniteLoss(ChannelWiseDivergence):
    """A loss that overflows."""

    def forward(self, preds_S, preds_T):
        return super().forward(preds_S, preds_T) * float('inf')


@pytest.fixture(scope='module')
def random_teacher(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('random_teacher') / 'teacher.pth')
    return write_random_teacher(Config.fromfile(CWD_CFG).model, path)


@pytest.fixture(scope='module')
def trained_teacher(tmp_path_factory, synthetic_coco):
    """The demo teacher trained for 30 epochs on the 8 generated images at a constant rate; its checkpoint and
    its own validation metrics (MMEngine's val loop on all 8 validation images)."""
    work_dir = str(tmp_path_factory.mktemp('trained_teacher'))
    cfg = runner_cfg(TEACHER_CFG, work_dir, synthetic_coco['data_root'], 30, param_scheduler=[])
    cfg.default_hooks.logger.interval = 50
    runner = build_runner(cfg)
    runner.train()
    return osp.join(work_dir, 'epoch_30.pth'), runner.val()


def _cfg(tmp_path, data_root, teacher_ckpt, **preflight) -> Config:
    cfg = runner_cfg(CWD_CFG, str(tmp_path / 'w'), data_root, 1)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.preflight = dict(dict(skip=False), **preflight)
    return cfg


def _refused(cfg) -> PreflightError:
    runner = build_runner(cfg)
    with pytest.raises(PreflightError) as info:
        runner.train()
    assert runner.iter == 0 and not osp.exists(osp.join(cfg.work_dir, 'epoch_1.pth'))  # stopped before step 1
    return info.value


def _trained(cfg):
    runner = build_runner(cfg)
    runner.train()
    return runner, next(h for h in runner.hooks if isinstance(h, PreflightHook)).report


def test_a_teacher_with_random_weights_is_refused_naming_the_metric(synthetic_coco, random_teacher,
                                                                     trained_teacher, tmp_path):
    expected = trained_teacher[1]['coco/bbox_mAP']
    assert expected > 0.05  # a teacher that learnt something
    error = _refused(_cfg(tmp_path, synthetic_coco['data_root'], random_teacher,
                          teacher_metric=dict(expected=expected)))
    key, value = error.report.metric
    assert key == 'coco/bbox_mAP' and value < 0.5 * expected
    message = str(error)
    assert f'coco/bbox_mAP {value:.4g} < 0.5 x expected {expected:.4g} (preflight.teacher_metric.expected)' in message
    for fix in ('teacher_ckpt', "dataset and classes", 'normalisation', 'preflight.num_images',
                'preflight.skip=True', '--no-preflight'):
        assert fix in message
    assert 'REFUSED' in error.report.text


def test_a_trained_teacher_passes_scored_as_its_own_validation(synthetic_coco, trained_teacher, tmp_path):
    """On all 8 validation images the preflight's teacher metric is the teacher's own val loop's; the summary
    names every loss, the metric, each loss's magnitude at step 1 and the step's cost, on one screen."""
    checkpoint, own = trained_teacher
    expected = own['coco/bbox_mAP']
    _, report = _trained(_cfg(tmp_path, synthetic_coco['data_root'], checkpoint, num_images=8,
                              teacher_metric=dict(expected=expected)))
    assert report.metric == ('coco/bbox_mAP', expected)
    assert not report.problems
    text = report.text
    assert f'teacher: coco/bbox_mAP {expected:.4g} on the first 8 validation images' in text and ': ok' in text
    for name in LEVELS:
        assert name in text and name[len('distill.'):] + ' (ChannelWiseDivergence)' in text
    terms = {t.name: t for t in report.first_step.terms}
    assert sorted(terms) == LEVELS
    for term in report.first_step.terms:
        assert f'{term.value:.4g}' in text
    assert f'task loss {report.first_step.task_loss:.4g}' in text
    assert 'preds_S=student neck[0] (4, 64, 16, 16), preds_T=teacher neck[0] (4, 64, 16, 16)' in text
    assert 'step cost: distillation' in text and report.first_step.distill_seconds > 0
    assert len(text.splitlines()) <= 30


def test_fewer_images_score_only_those_images(synthetic_coco, trained_teacher, tmp_path):
    """num_images=3: the COCO metric is restricted to the 3 images seen. MMEngine's val loop on those 3 images
    with the whole annotation file counts the other images' boxes as missed, and scores lower."""
    _, report = _trained(_cfg(tmp_path, synthetic_coco['data_root'], trained_teacher[0], num_images=3))
    assert 'on the first 3 validation images; not judged (no preflight.teacher_metric.expected' in report.text
    cfg = runner_cfg(TEACHER_CFG, str(tmp_path / 'v'), synthetic_coco['data_root'], 1, load_from=trained_teacher[0])
    cfg.val_dataloader.dataset.indices = 3
    unrestricted = build_runner(cfg).val()['coco/bbox_mAP']
    assert report.metric[1] > unrestricted


def _reversed_teacher_cfg(tmp_path) -> str:
    path = tmp_path / 'teacher_reversed.py'
    path.write_text(f'_base_ = [{TEACHER_CFG!r}]\n'
                    "train_dataloader = dict(dataset=dict(metainfo=dict(classes=('triangle', 'disk', 'square'))))\n")
    return str(path)


def _head_logits(cfg) -> None:
    """Distil the first level's classification logits (a class-indexed output) instead of the FPN."""
    cfg.model.teacher_forward = 'tensor'
    cfg.model.distiller = dict(
        type='ConfigurableDistiller',
        student_recorders=dict(cls=dict(type='ModuleOutputs', source='bbox_head.retina_cls')),
        teacher_recorders=dict(cls=dict(type='ModuleOutputs', source='bbox_head.retina_cls')),
        distill_losses=dict(loss_cls_kd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=1.0)),
        loss_forward_mappings=dict(loss_cls_kd=dict(preds_S=dict(from_student=True, recorder='cls'),
                                                    preds_T=dict(from_student=False, recorder='cls'))))


@pytest.mark.parametrize('teacher, why', [
    ('reversed', 'the same class names in another order'),
    ('four', '4 teacher classes vs 3 student classes')])
def test_a_teacher_of_other_classes_is_refused_for_logits(synthetic_coco, tmp_path, teacher, why):
    cfg = _cfg(tmp_path, synthetic_coco['data_root'], None)
    cfg.model.teacher = (dict(cfg_path=_reversed_teacher_cfg(tmp_path)) if teacher == 'reversed'
                         else dict(cfg_path=TEACHER_CFG, bbox_head=dict(num_classes=4)))
    _head_logits(cfg)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp_path / 'teacher.pth'))
    message = str(_refused(cfg))
    assert 'teacher and student disagree on their classes' in message and why in message
    assert "teacher recorder 'cls' on bbox_head.retina_cls" in message
    assert "distil features (backbone/neck recorders, teacher_forward='feat')" in message


def test_a_teacher_of_other_classes_may_teach_features(synthetic_coco, tmp_path):
    cfg = _cfg(tmp_path, synthetic_coco['data_root'], None)
    cfg.model.teacher = dict(cfg_path=_reversed_teacher_cfg(tmp_path))
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp_path / 'teacher.pth'))
    _, report = _trained(cfg)
    assert 'features only, allowed' in report.text
    assert "teacher: not evaluated (other classes than the student's)" in report.text and report.metric is None


def test_a_detached_and_an_infinite_loss_are_refused(synthetic_coco, random_teacher, tmp_path):
    cfg = _cfg(tmp_path, synthetic_coco['data_root'], random_teacher)
    cfg.model.distiller.distill_losses.loss_cwd_p3.type = 'PreflightDetachedCWD'
    cfg.model.distiller.distill_losses.loss_cwd_p4.type = 'PreflightInfiniteLoss'
    error = _refused(cfg)
    message = str(error)
    assert 'distill.loss_cwd_p3' in message and 'gives the student no gradient' in message
    assert 'student recorder reads a detached tensor' in message
    assert 'distill.loss_cwd_p4 is inf at the first step' in message
    assert 'distill.loss_cwd_p5' not in message
    assert 'unreached' in error.report.text  # the detached term's student gradient


def test_a_zero_weight_loss_and_one_1e4_times_the_task_loss_warn_with_both_magnitudes(
        synthetic_coco, random_teacher, tmp_path):
    cfg = _cfg(tmp_path, synthetic_coco['data_root'], random_teacher)
    cfg.model.distiller.distill_losses.loss_cwd_p3.loss_weight = 0.0
    cfg.model.distiller.distill_losses.loss_cwd_p4.loss_weight = 2e4
    _, report = _trained(cfg)
    terms = {t.name: t for t in report.first_step.terms}
    task = report.first_step.task_loss
    big = terms['distill.loss_cwd_p4']
    assert big.value / task > 1e3
    assert any(f'distill.loss_cwd_p4 is {big.value:.4g}, {big.value / task:.3g} x the task loss {task:.4g}' in w
               for w in report.warnings), report.warnings
    assert any('distill.loss_cwd_p3' in w and 'its loss_weight is 0' in w for w in report.warnings)
    assert 'result: ok with' in report.text


def _final_state(runner):
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def test_the_preflight_leaves_training_bit_identical(synthetic_coco, random_teacher, tmp_path, monkeypatch):
    """The same run with and without the preflight ends with the same weights, bit for bit; with its state
    restoration undone it would not (the preflight's forwards move the BN statistics)."""
    root = synthetic_coco['data_root']
    skipped = build_runner(_cfg(tmp_path / 'a', root, random_teacher, skip=True))
    skipped.train()
    assert not any(isinstance(h, PreflightHook) for h in skipped.hooks)
    checked, report = _trained(_cfg(tmp_path / 'b', root, random_teacher))
    assert report is not None and report.first_step is not None
    a, b = _final_state(skipped), _final_state(checked)
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    monkeypatch.setattr(preflight_run, 'preserved_state', lambda model: contextlib.nullcontext())
    unrestored, _ = _trained(_cfg(tmp_path / 'c', root, random_teacher))
    c = _final_state(unrestored)
    assert any(not torch.equal(a[k], c[k]) for k in a if k.startswith('architecture.'))


def test_preserved_state_restores_generators_weights_statistics_modes_and_gradients():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5))
    model[2].eval()
    model[0].weight.grad = torch.ones_like(model[0].weight)
    grad = model[0].weight.grad
    before = {k: v.clone() for k, v in model.state_dict().items()}
    draws = []
    for block in (True, False):
        state = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        with preserved_state(model) if block else contextlib.nullcontext():
            if block:
                model.train()
                model(torch.randn(2, 3, 8, 8)).sum().backward()
                with torch.no_grad():
                    model[0].weight.add_(1)
                random.random(), np.random.rand()
        draws.append((random.random(), float(np.random.rand()), float(torch.rand(1))))
        random.setstate(state[0]), np.random.set_state(state[1]), torch.set_rng_state(state[2])
    assert draws[0] == draws[1]
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights, running stats, num_batches_tracked
    assert model[0].weight.grad is grad and model[1].training and not model[2].training


def test_metafile_gives_the_published_metric_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError('the metafile lookup tried the network')
    monkeypatch.setattr(socket.socket, 'connect', no_network)
    assert published_metric('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', 'coco/bbox_mAP') == pytest.approx(0.365)
    assert published_metric('mmdet::retinanet/retinanet_r101_fpn_2x_coco.py', 'coco/bbox_mAP') == pytest.approx(0.389)
    assert published_metric('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', 'coco/segm_mAP') == pytest.approx(0.347)
    assert published_metric('mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py',
                            'mIoU') == pytest.approx(76.7)
    assert published_metric(TEACHER_CFG, 'coco/bbox_mAP') is None  # a local config has no metafile entry
    assert published_metric('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', 'coco/AR@100') is None
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'acam_kd', 'acam-kd_fpn_retina-r101_retina-r50_2x_coco.py'))
    assert stock_config_paths(cfg) == ('mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
                                       'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py')


def test_references_come_from_the_config_else_the_metafiles():
    settings = read_settings(None)
    stock = ('mmdet::retinanet/retinanet_r101_fpn_2x_coco.py', 'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py')
    refs = preflight_run._references(settings, 'coco/bbox_mAP', stock)
    assert refs['expected'] == (pytest.approx(0.389), 'metafile of retinanet_r101_fpn_2x_coco')
    assert refs['student baseline'] == (pytest.approx(0.374), 'metafile of retinanet_r50_fpn_2x_coco')
    settings = read_settings(dict(teacher_metric=dict(expected=0.4), student_baseline=0.3))
    refs = preflight_run._references(settings, 'coco/bbox_mAP', stock)
    assert refs == {'expected': (0.4, 'preflight.teacher_metric.expected'),
                    'student baseline': (0.3, 'preflight.student_baseline')}


def test_settings_defaults_and_mistakes():
    settings = read_settings(dict(num_images=16, teacher_metric=dict(expected=0.7)))
    assert settings['num_images'] == 16 and settings['teacher_metric'] == dict(key=None, expected=0.7, min_ratio=0.5)
    assert settings['skip'] is False and settings['on_resume'] is False and settings['loss_ratio'] == (1e-3, 1e3)
    with pytest.raises(ValueError, match=r"preflight.num_image is not a preflight setting; the settings are \["):
        read_settings(dict(num_image=4))
    with pytest.raises(ValueError, match='preflight.teacher_metric.expect is not a setting'):
        read_settings(dict(teacher_metric=dict(expect=0.7)))
    with pytest.raises(ValueError, match='min_ratio must be in'):
        read_settings(dict(teacher_metric=dict(min_ratio=2)))


def test_not_run_on_resume_unless_asked(synthetic_coco, random_teacher, tmp_path):
    cfg = _cfg(tmp_path, synthetic_coco['data_root'], random_teacher)
    cfg.resume = True
    runner = build_runner(cfg)
    for preflight, resume, registered in ((dict(), True, False), (dict(on_resume=True), True, True),
                                          (dict(skip=True), False, False), (dict(), False, True)):
        runner.cfg.preflight, runner._resume = preflight, resume
        runner._hooks = [h for h in runner.hooks if not isinstance(h, PreflightHook)]
        runner._register_preflight()  # what train() calls first
        assert any(isinstance(h, PreflightHook) for h in runner.hooks) == registered, (preflight, resume)


def test_train_no_preflight_sets_skip(synthetic_coco, random_teacher, tmp_path, monkeypatch):
    from tests.test_tools.test_tool_inputs import tool
    train = tool('train.py')
    built = []

    class Registry:
        @staticmethod
        def build(cfg):
            built.append(cfg)
            raise SystemExit(0)
    monkeypatch.setattr(train, 'RUNNERS', Registry)
    root = synthetic_coco['data_root'].rstrip('/') + '/'
    options = [f'{k}_dataloader.dataset.data_root={root}' for k in ('train', 'val', 'test')]
    options += [f'model.teacher_ckpt={random_teacher}']
    for flag, skip in ((['--no-preflight'], True), ([], None)):
        with pytest.raises(SystemExit):
            train.main([CWD_CFG, '--work-dir', str(tmp_path / 'w'), *flag, '--cfg-options', *options])
        assert built[-1].get('preflight', {}).get('skip') is skip


def test_check_config_preflight(synthetic_coco, trained_teacher, tmp_path, monkeypatch):
    """tools/check_config.py --preflight: a teacher with random weights is evaluated and never judged; the
    config's real teacher_ckpt is judged; a refusal is one error line (SystemExit)."""
    from tests.test_tools.test_tool_inputs import tool
    os.makedirs(tmp_path / 'data' / 'synthetic')
    os.symlink(synthetic_coco['data_root'], tmp_path / 'data' / 'synthetic' / 'coco')
    monkeypatch.chdir(tmp_path)  # the config's relative data_root
    cfg = Config.fromfile(CWD_CFG)
    cfg.preflight = dict(teacher_metric=dict(expected=0.9))
    report = smoke_preflight(cfg, str(tmp_path))
    assert 'not judged (the teacher has random weights: teacher_ckpt is not a file on this machine)' in report.text
    assert 'a generated batch of 2 images, offline' in report.text
    cfg.model.teacher_ckpt = trained_teacher[0]
    cfg.preflight = dict(teacher_metric=dict(expected=trained_teacher[1]['coco/bbox_mAP']))
    report = smoke_preflight(cfg, str(tmp_path))
    assert report.metric == ('coco/bbox_mAP', trained_teacher[1]['coco/bbox_mAP']) and ': ok' in report.text
    check_config = tool('check_config.py')
    check_config.main([CWD_CFG, '--preflight'])
    with pytest.raises(SystemExit, match='(?s)error: the preflight refused .* gives the student no gradient'):
        check_config.main([CWD_CFG, '--preflight', '--cfg-options',
                           'model.distiller.distill_losses.loss_cwd_p3.type=PreflightDetachedCWD'])
