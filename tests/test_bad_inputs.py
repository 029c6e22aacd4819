"""User mistakes and hostile files: each gets an error that names the mistake and the fix, or a
documented safe behaviour. The inventory, with the tests elsewhere that cover more cases, is
docs/bad_inputs.md.
"""
import copy
import logging
import os
import pickle

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import OptimWrapper
from mmengine.runner.checkpoint import load_checkpoint
from mmrazor.registry import MODELS

from mmkd_devtools.testing import packed_det_batch, write_random_teacher
from tests.fixtures.runner_utils import (CWD_CFG, REPO, STUDENT_CFG, TEACHER_CFG, run, runner_cfg)

ACAM_CFG = f'{REPO}/configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'


@pytest.fixture(scope='module')
def distill_cfg():
    return Config.fromfile(CWD_CFG).model


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, distill_cfg):
    return write_random_teacher(distill_cfg, str(tmp_path_factory.mktemp('bad_inputs') / 'teacher.pth'))


def build(distill_cfg, teacher_ckpt, **overrides):
    """The demo CWD model with ``overrides`` merged in (as a config's own keys would be)."""
    cfg = Config._merge_a_into_b(ConfigDict(overrides), copy.deepcopy(distill_cfg))
    cfg.teacher_ckpt = teacher_ckpt
    return MODELS.build(cfg)


def step(model):
    """One training step on a packed batch; returns the log vars."""
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    return model.train_step(packed_det_batch((64, 96)), optim)


@pytest.fixture
def logged():
    """The messages MMEngine's current logger writes during the test."""
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


class _RunsCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


# --- hostile and mismatched checkpoint files ------------------------------------------------------

def test_teacher_checkpoint_that_runs_code_is_refused(distill_cfg, tmp_path):
    marker, path = tmp_path / 'ran', tmp_path / 'evil_teacher.pth'
    torch.save({'state_dict': {}, 'x': _RunsCode(marker)}, path)
    with pytest.raises(pickle.UnpicklingError, match=r'evil_teacher\.pth: refused by the weights_only'):
        build(distill_cfg, str(path))
    assert not marker.exists()


def test_teacher_url_with_a_hostile_file_in_the_hub_cache_is_refused(distill_cfg, tmp_path, monkeypatch):
    marker = tmp_path / 'ran'
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'home'))
    cached = tmp_path / 'home' / 'hub' / 'checkpoints' / 'retinanet_r18.pth'
    cached.parent.mkdir(parents=True)
    torch.save({'state_dict': {}, 'x': _RunsCode(marker)}, cached)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', lambda *a, **k: pytest.fail('downloaded'))
    with pytest.raises(pickle.UnpicklingError, match='retinanet_r18.pth'):
        build(distill_cfg, 'https://download.openmmlab.com/mmdetection/x/retinanet_r18.pth')
    assert not marker.exists()


def test_teacher_checkpoint_of_another_architecture_lists_the_mismatch(distill_cfg, tmp_path):
    other = copy.deepcopy(distill_cfg)
    other.teacher = dict(cfg_path=TEACHER_CFG, bbox_head=dict(num_classes=80))
    path = write_random_teacher(other, str(tmp_path / 'coco80.pth'))
    with pytest.raises(ValueError, match=r'shape mismatch.*\n?.*Use the config the checkpoint was trained with'):
        build(distill_cfg, path)


def test_resume_from_a_plain_model_checkpoint_is_refused(synthetic_coco, tmp_path, teacher_ckpt):
    cfg = runner_cfg(CWD_CFG, str(tmp_path / 'run'), synthetic_coco['data_root'], 1)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.resume, cfg.load_from = True, teacher_ckpt  # the teacher's own checkpoint
    with pytest.raises(ValueError, match='plain model checkpoint.*model.teacher_ckpt=.*load_from='):
        run(cfg)


def test_resume_from_a_weights_only_distillation_checkpoint_is_refused(synthetic_coco, tmp_path, distill_cfg,
                                                                      teacher_ckpt):
    """A distillation checkpoint as model zoos publish it: ``state_dict`` and ``meta``, no training state
    (MMEngine's resume fails with ``KeyError: 'message_hub'``)."""
    path = str(tmp_path / 'published.pth')
    torch.save(dict(state_dict=build(distill_cfg, teacher_ckpt).state_dict(), meta=dict(epoch=24, iter=24)), path)
    cfg = runner_cfg(CWD_CFG, str(tmp_path / 'run'), synthetic_coco['data_root'], 1)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.resume, cfg.load_from = True, path
    with pytest.raises(ValueError, match=r'--resume .*published\.pth: it holds weights only \(meta, state_dict; '
                                         r'no optimizer, message_hub, param_schedulers; .*use '
                                         r'load_from=.*published\.pth \(--cfg-options load_from=\.\.\.\) '
                                         'without --resume'):
        run(cfg)


def test_load_from_a_plain_student_checkpoint_initialises_the_student(distill_cfg, teacher_ckpt, tmp_path,
                                                                      logged):
    from mmdet.registry import MODELS as DET_MODELS
    student = DET_MODELS.build(Config.fromfile(STUDENT_CFG).model)
    student.init_weights()
    path = tmp_path / 'student.pth'
    torch.save({'state_dict': student.state_dict()}, path)
    model = build(distill_cfg, teacher_ckpt)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    load_checkpoint(model, str(path), map_location='cpu')
    for key, value in student.state_dict().items():
        assert torch.equal(model.architecture.state_dict()[key], value), key
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key
    assert any('Loaded a plain model checkpoint into the student' in m for m in logged)


def test_a_checkpoints_teacher_never_replaces_teacher_ckpt(distill_cfg, teacher_ckpt, tmp_path, logged):
    model = build(distill_cfg, teacher_ckpt)
    state = {k: v + 1 if k.startswith('teacher.') and v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    path = tmp_path / 'distill.pth'
    torch.save({'state_dict': state}, path)
    fresh = build(distill_cfg, teacher_ckpt)
    before = copy.deepcopy(fresh.teacher.state_dict())
    load_checkpoint(fresh, str(path), map_location='cpu')
    for key, value in fresh.teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert any('differs from the one loaded from teacher_ckpt' in m for m in logged)


# --- distiller configs ----------------------------------------------------------------------------

@pytest.mark.parametrize('override, error, text', [
    (dict(distiller=dict(student_recorders=dict(fpn=dict(source='nekc')))), ValueError,
     r"'nekc' is not a module of the student.*Closest names: \['neck'\]"),
    (dict(distiller=dict(teacher_recorders=dict(fpn=dict(source='bbox_head.cls_convs')))), ValueError,
     r"'bbox_head.cls_convs' is a ModuleList, which is never called.*'bbox_head.cls_convs.0'"),
    (dict(distiller=dict(student_recorders=dict(fpn=dict(
        type='MethodOutputs', source='mmdet.models.dense_heads.anchor_head.AnchorHead.loss_by_feat_singel')))),
     ValueError, r"has no 'loss_by_feat_singel'.*Closest names: \['loss_by_feat_single'"),
    (dict(distiller=dict(loss_forward_mappings=dict(loss_cwd_p9=dict(preds_S=dict(from_student=True,
                                                                                   recorder='fpn'))))),
     ValueError, r"\['loss_cwd_p9'\] maps a loss that distill_losses does not define"),
    (dict(distiller=dict(loss_forward_mappings=dict(loss_cwd_p3=dict(pred_S=dict(from_student=True,
                                                                                  recorder='fpn'))))),
     ValueError, r"has no argument 'pred_S'; its arguments are \['preds_S', 'preds_T'\]"),
    (dict(distiller=dict(loss_forward_mappings=dict(loss_cwd_p3=dict(preds_S=dict(from_student=True,
                                                                                   recorder='fpns'))))),
     ValueError, r"'fpns' is not one of the student_recorders \['fpn'\]"),
    (dict(distiller=dict(loss_forward_mappings=dict(loss_cwd_p3=dict(preds_S=dict(from_student='yes',
                                                                                   recorder='fpn'))))),
     ValueError, 'from_student must be True or False'),
    (dict(teacher_forward='all'), ValueError, 'teacher_forward must be one of'),
    (dict(teacher_trainable=True), ValueError, 'keeps the teacher frozen'),
    (dict(teacher=dict(pretrained=True)), ValueError, 'would download weights.*teacher_ckpt'),
    (dict(teacher=dict(cfg_path='configs/nowhere.py')), FileNotFoundError, "'pkg::path'"),
    (dict(inherit_from_teacher=['neck']), ValueError, "(?s)teacher's 'neck' does not fit.*identical shape"),
    (dict(nonfinite_loss='ignore'), ValueError, "nonfinite_loss must be one of"),
])
def test_config_mistakes_are_named_at_build(distill_cfg, teacher_ckpt, override, error, text):
    with pytest.raises(error, match=text):
        build(distill_cfg, teacher_ckpt, **override)


def test_a_teacher_recorder_the_feature_forward_never_runs(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt,
                  distiller=dict(teacher_recorders=dict(fpn=dict(source='bbox_head.retina_cls'))))
    with pytest.raises(RuntimeError, match="teacher_forward='feat' runs only.*teacher_forward='tensor'"):
        step(model)


def test_a_method_recorder_on_a_method_the_head_overrides(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt, distiller=dict(student_recorders=dict(fpn=dict(
        type='MethodOutputs', source='mmdet.models.dense_heads.base_dense_head.BaseDenseHead.loss_by_feat'))))
    with pytest.raises(RuntimeError, match=r'never called .*AnchorHead.loss_by_feat'):
        step(model)


# --- training-time mistakes -----------------------------------------------------------------------

def test_a_nan_loss_names_the_term_and_the_iteration_or_is_skipped(distill_cfg, teacher_ckpt, logged):
    model = build(distill_cfg, teacher_ckpt)
    model.distiller.distill_losses['loss_cwd_p4'].loss_weight = float('nan')
    MessageHub.get_current_instance().update_info('iter', 6)
    with pytest.raises(FloatingPointError, match=r"at iteration 7: \{'distill.loss_cwd_p4': nan\}.*'skip'"):
        step(model)
    model.set_nonfinite_policy('skip')
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    step(model)  # lr 0: a skipped step leaves every parameter (and gradient) finite
    for name, param in model.named_parameters():
        assert torch.equal(param, before[name]), name
        assert param.grad is None or torch.isfinite(param.grad).all(), name
    assert any('the step is skipped' in m for m in logged)


def test_a_caffe_style_teacher_gets_its_own_normalisation(distill_cfg, tmp_path):
    """Documented behaviour: the batch the student's preprocessor made is converted for the teacher."""
    cfg = copy.deepcopy(distill_cfg)
    cfg.teacher = dict(cfg_path=TEACHER_CFG, data_preprocessor=dict(
        mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False))
    cfg.teacher_ckpt = write_random_teacher(cfg, str(tmp_path / 'caffe.pth'))
    model = MODELS.build(cfg)
    seen = []
    model.teacher.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    raw = packed_det_batch((64, 96))
    step_input = model.data_preprocessor(copy.deepcopy(raw), training=True)
    with torch.no_grad():
        model.run_teacher(step_input['inputs'], step_input['data_samples'])
    expected = model.teacher.data_preprocessor(copy.deepcopy(raw), training=True)['inputs']
    torch.testing.assert_close(seen[0], expected, rtol=1e-5, atol=1e-4)
    assert not torch.allclose(step_input['inputs'], expected, atol=1.0)  # the student's really differs


def test_an_image_without_boxes_distils_with_finite_losses(distill_cfg, teacher_ckpt):
    model = build(distill_cfg, teacher_ckpt)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    log_vars = model.train_step(packed_det_batch((64, 96), boxes_per_image=(0, 2)), optim)
    assert all(torch.isfinite(torch.as_tensor(float(v))) for v in log_vars.values())


def test_acam_online_masks_need_their_algorithm(teacher_ckpt):
    cfg = Config.fromfile(ACAM_CFG).model
    acam = cfg.pop('acam')
    from mmkd_plugin.models.algorithms import acam_kd_distiller
    cfg.update(type='TeacherDistill', teacher_ckpt=teacher_ckpt,
               distiller=acam_kd_distiller(**dict(acam, mask_learning='online')))
    model = MODELS.build(cfg)
    step(model)
    with pytest.raises(RuntimeError, match="type='ACAMKDDistill'"):
        step(model)


def test_roi_distillation_refuses_a_cascade_teacher(tmp_path):
    cfg = Config.fromfile(f'{REPO}/configs/nkd/nkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py').model
    cfg.distiller.teacher_recorders.logits.source = 'roi_head.bbox_head.0.fc_cls'  # a stage of the cascade
    cfg.teacher = dict(cfg_path='mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
                       backbone=dict(init_cfg=None))
    cfg.architecture.backbone.init_cfg = None
    cfg.teacher_ckpt = write_random_teacher(cfg, str(tmp_path / 'cascade.pth'))
    with pytest.raises(TypeError, match='CascadeRoIHead: a cascade head .*Faster R-CNN-style teacher'):
        MODELS.build(cfg)


def test_the_mask_logger_warns_on_collapse_with_the_fix(logged):
    from types import SimpleNamespace

    from mmkd_plugin.engine.hooks import ACAMKDMaskLoggerHook
    from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss
    loss = ACAMKDLoss(4, 4, num_masks=2)
    loss(torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 3))
    loss.last_stats['mask_s'] = torch.tensor(0.001)
    hub = MessageHub.get_instance('bad_inputs_mask_logger')
    ACAMKDMaskLoggerHook().after_train_iter(SimpleNamespace(model=loss, iter=0, message_hub=hub), 0)
    assert any('collapsing to 0' in m and 'mass_weight' in m for m in logged)
