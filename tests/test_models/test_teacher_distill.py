"""TeacherDistill: config paths, strict teacher loading, eval-mode teacher, recorder errors."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

from mmkd_devtools.testing import packed_det_batch, write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG, TEACHER_CFG


@pytest.fixture(scope='module')
def distill_cfg():
    return Config.fromfile(CWD_CFG).model


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, distill_cfg):
    return write_random_teacher(distill_cfg, str(tmp_path_factory.mktemp('teacher') / 'teacher.pth'))


def build(distill_cfg, **overrides):
    cfg = copy.deepcopy(distill_cfg)
    cfg.merge_from_dict(overrides) if hasattr(cfg, 'merge_from_dict') else cfg.update(overrides)
    return MODELS.build(cfg)


def test_teacher_weights_are_loaded_exactly(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt=teacher_ckpt)
    saved = torch.load(teacher_ckpt)['state_dict']
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key
    model.init_weights()  # must not re-initialise the loaded teacher
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_teacher_from_package_config_path(distill_cfg, tmp_path):
    teacher = dict(cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                   backbone=dict(init_cfg=None), bbox_head=dict(num_classes=3))
    cfg = copy.deepcopy(distill_cfg)
    cfg.teacher = teacher
    cfg.distiller.distill_losses = dict()
    cfg.distiller.loss_forward_mappings = dict()
    ckpt = write_random_teacher(cfg, str(tmp_path / 't.pth'))
    cfg.teacher_ckpt = ckpt
    model = MODELS.build(cfg)
    assert model.teacher.backbone.depth == 18
    assert model.teacher.bbox_head.num_classes == 3


def test_missing_teacher_checkpoint_is_an_error(distill_cfg):
    with pytest.raises(ValueError, match='teacher_ckpt is not set'):
        build(distill_cfg, teacher_ckpt=None)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        build(distill_cfg, teacher_ckpt='/nonexistent/teacher.pth')


def test_mismatched_teacher_checkpoint_lists_keys(distill_cfg, tmp_path):
    other = copy.deepcopy(distill_cfg)
    other.teacher = dict(cfg_path=TEACHER_CFG, bbox_head=dict(num_classes=5))
    ckpt = write_random_teacher(other, str(tmp_path / 'five_classes.pth'))
    with pytest.raises(ValueError) as error:
        build(distill_cfg, teacher_ckpt=ckpt)
    message = str(error.value)
    assert 'shape mismatch (2)' in message
    assert 'bbox_head.retina_cls.weight' in message and 'bbox_head.retina_cls.bias' in message


def test_checkpoint_with_missing_and_extra_keys_is_refused(distill_cfg, teacher_ckpt, tmp_path):
    state = torch.load(teacher_ckpt)['state_dict']
    state.pop('neck.fpn_convs.0.conv.weight')
    state['extra.weight'] = torch.zeros(1)
    path = tmp_path / 'broken.pth'
    torch.save(dict(state_dict=state), path)
    with pytest.raises(ValueError) as error:
        build(distill_cfg, teacher_ckpt=str(path))
    assert 'missing in checkpoint (1): neck.fpn_convs.0.conv.weight' in str(error.value)
    assert 'unexpected in checkpoint (1): extra.weight' in str(error.value)


def test_wrong_recorder_source_names_closest_modules(distill_cfg, teacher_ckpt):
    cfg = copy.deepcopy(distill_cfg)
    cfg.teacher_ckpt = teacher_ckpt
    cfg.distiller.teacher_recorders.fpn.source = 'neck.fpn_conv.0'
    with pytest.raises(ValueError) as error:
        MODELS.build(cfg)
    assert "teacher_recorders['fpn']" in str(error.value)
    assert 'neck.fpn_convs.0' in str(error.value)


def test_teacher_stays_frozen_in_eval_mode_and_runs_only_features(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt=teacher_ckpt)
    model.train()
    assert model.architecture.training
    assert not any(m.training for m in model.teacher.modules())
    head_calls = []
    model.teacher.bbox_head.register_forward_hook(lambda *args: head_calls.append(1))
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    losses = model.train_step(packed_det_batch(), optim)
    assert any(k.startswith('distill.') for k in losses)
    assert head_calls == [], "teacher_forward='feat' must not run the teacher's head"
    assert all(p.grad is None for p in model.teacher.parameters())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), f'teacher changed: {key}'
    assert any(not torch.equal(v, student_before[k]) for k, v in model.architecture.state_dict().items())


def test_predict_evaluates_the_student(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt=teacher_ckpt)
    model.eval()
    batch = packed_det_batch()
    with torch.no_grad():
        distilled = model.val_step(batch)
        student = model.architecture.val_step(batch)
        teacher = model.teacher.val_step(batch)
    torch.testing.assert_close(distilled[0].pred_instances.bboxes, student[0].pred_instances.bboxes)
    # ... which the check can tell from the teacher's predictions
    t_scores, d_scores = teacher[0].pred_instances.scores, distilled[0].pred_instances.scores
    assert t_scores.shape != d_scores.shape or not torch.allclose(t_scores, d_scores)


def test_unknown_teacher_forward_is_an_error(distill_cfg, teacher_ckpt):
    with pytest.raises(ValueError, match='teacher_forward must be one of'):
        build(distill_cfg, teacher_ckpt=teacher_ckpt, teacher_forward='all')


def test_inheritance_copies_teacher_modules_and_survives_init_weights(tmp_path):
    cfg = Config.fromfile(CWD_CFG).model
    cfg.teacher = dict(cfg_path=TEACHER_CFG, bbox_head=dict(feat_channels=32, stacked_convs=1))
    cfg.teacher_ckpt = write_random_teacher(cfg, str(tmp_path / 'teacher.pth'))
    cfg.inherit_from_teacher = ['bbox_head']
    model = MODELS.build(cfg)
    model.init_weights()
    teacher_head = model.teacher.bbox_head.state_dict()
    for key, value in model.architecture.bbox_head.state_dict().items():
        assert torch.equal(value, teacher_head[key]), key
    # A child of a module with an init_cfg (the FPN's Xavier init reaches every conv inside it).
    cfg.inherit_from_teacher = ['neck.fpn_convs.0', 'neck.fpn_convs.2']
    model = MODELS.build(cfg)
    model.init_weights()
    for name in cfg.inherit_from_teacher:
        teacher_part = dict(model.teacher.named_modules())[name].state_dict()
        for key, value in dict(model.architecture.named_modules())[name].state_dict().items():
            assert torch.equal(value, teacher_part[key]), (name, key)
    other_teacher = model.teacher.neck.fpn_convs[1].conv.weight
    assert not torch.equal(model.architecture.neck.fpn_convs[1].conv.weight, other_teacher)
    cfg.inherit_from_teacher = ['neck']  # student neck reads 16..128 channels, the teacher's 64..512
    with pytest.raises(ValueError, match="teacher's 'neck' does not fit"):
        MODELS.build(cfg)
