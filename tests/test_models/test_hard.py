"""HARD-affine: the augmentor's geometry against drawn shapes, and its update against its objective.

Geometry: a rectangle drawn in the image and given as a box (detection) or as a class region (segmentation)
must land, after a warp, where the warped box / warped label map says. The update: with the teacher
constraint off, an augmentor step raises the distillation loss (the disagreement) on its batch; with a heavy
constraint, it lowers the teacher's task loss on the augmented batch; the augmentor's gradient equals the
gradient of the stated objective composed by hand, the teacher's path included.
"""
import copy
import math
import os.path as osp

import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.registry import DefaultScope, MODELS
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmkd_plugin.models.architectures import AffineAugmentor
from mmkd_plugin.models.losses.acam_kd_terms import masked_mimic_loss, standardize_channels
from mmkd_devtools.testing import offline_model_cfg, packed_batch_for

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HARD_COCO = osp.join(REPO, 'tools', 'benchmarks', 'suites', 'tiny_coco',
                     'hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')
H, W = 64, 96
BOX = (30.0, 20.0, 60.0, 44.0)  # x1, y1, x2, y2


def params(rotation_deg=0.0, scale=1.0, shear=0.0, tx=0.0, ty=0.0):
    return torch.tensor([[math.radians(rotation_deg), math.log(scale), shear, tx, ty]])


def drawn_rectangle():
    image = torch.zeros(1, 3, H, W)
    x1, y1, x2, y2 = (int(v) for v in BOX)
    image[:, :, y1:y2, x1:x2] = 1.0
    return image


def bright_box(image):
    ys, xs = torch.nonzero(image[0, 0] > 0.5, as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


def det_sample(boxes, labels):
    sample = DetDataSample(metainfo=dict(img_shape=(H, W), pad_shape=(H, W)))
    sample.gt_instances = InstanceData(bboxes=HorizontalBoxes(torch.tensor(boxes)), labels=torch.tensor(labels))
    return sample


@pytest.mark.parametrize('transform', [dict(), dict(tx=0.1, ty=-0.05), dict(scale=1.2),
                                       dict(rotation_deg=12.0), dict(shear=0.15, scale=0.9, tx=-0.05)],
                         ids=['identity', 'translate', 'scale', 'rotate', 'shear-scale-translate'])
def test_a_box_drawn_on_a_shape_lands_on_the_warped_shape(transform):
    augmentor = AffineAugmentor()
    warped, samples = augmentor(drawn_rectangle(), [det_sample([BOX], [2])], params=params(**transform))
    box = samples[0].gt_instances.bboxes.tensor[0]
    torch.testing.assert_close(bright_box(warped), box, atol=1.5, rtol=0)
    assert samples[0].gt_instances.labels.tolist() == [2]
    if not transform:
        torch.testing.assert_close(warped, drawn_rectangle())


def test_a_box_that_leaves_the_image_is_dropped_with_its_label():
    augmentor = AffineAugmentor(max_translate=0.5)
    boxes = [[2.0, 2.0, 20.0, 20.0], list(BOX)]  # the first leaves through the left edge
    _, samples = augmentor(drawn_rectangle(), [det_sample(boxes, [0, 2])], params=params(tx=-0.3))
    assert samples[0].gt_instances.labels.tolist() == [2]
    assert len(samples[0].gt_instances.bboxes) == 1


@pytest.mark.parametrize('transform', [dict(rotation_deg=10.0, tx=0.05), dict(scale=0.8, shear=0.1)])
def test_label_maps_follow_the_image_and_uncovered_pixels_are_ignored(transform):
    labels = torch.zeros(1, H, W, dtype=torch.long)
    x1, y1, x2, y2 = (int(v) for v in BOX)
    labels[:, y1:y2, x1:x2] = 3
    sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
    warped, samples = AffineAugmentor()(drawn_rectangle(), [sample], params=params(**transform))
    warped_labels = samples[0].gt_sem_seg.data[0]
    shape_in_image = warped[0, 0] > 0.5
    shape_in_labels = warped_labels == 3
    iou = (shape_in_image & shape_in_labels).sum() / (shape_in_image | shape_in_labels).sum()
    assert iou > 0.9
    ones = AffineAugmentor()(torch.ones(1, 1, H, W), None, params=params(**transform))[0][0, 0]
    outside = ones < 0.01  # no source pixel reaches there
    assert outside.any() and (warped_labels[outside] == 255).all()
    assert set(warped_labels.unique().tolist()) <= {0, 3, 255}


def test_samples_stay_near_the_identity_at_the_start_and_within_bounds():
    augmentor = AffineAugmentor(max_rotation=10.0, max_scale=1.2, init_std=0.1)
    drawn = augmentor.sample(10000)
    assert drawn.abs().mean(dim=0).max() < 0.1 * augmentor.bounds.max()
    assert (drawn.abs() <= augmentor.bounds).all()


def build_hard(**overrides):
    cfg = Config.fromfile(HARD_COCO)
    cfg.model.update(overrides)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp, DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(offline_model_cfg(cfg, tmp))
        model.init_weights()
    return model


def objective(model, data):
    torch.manual_seed(123)  # the same transforms before and after the update
    buffers = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    with torch.no_grad():
        terms = model.augmentor_objective(data['inputs'], data['data_samples'])
    model.architecture.load_state_dict(buffers)  # as update_augmentor does: no trace of the evaluation
    return {k: float(v) for k, v in terms.items()}


@pytest.fixture(scope='module')
def batch():
    """A detection batch of smooth images (noise images make the warp's gradient meaningless at pixel scale)."""
    data = packed_batch_for(build_hard(), (96, 128), (64, 128), batch_size=2)
    g = torch.Generator().manual_seed(0)
    for i, image in enumerate(data['inputs']):
        coarse = torch.rand(1, 3, 6, 8, generator=g) * 255
        data['inputs'][i] = torch.nn.functional.interpolate(coarse, size=image.shape[1:], mode='bicubic',
                                                            align_corners=False)[0].clamp(0, 255).to(image.dtype)
    return data


def teacher_task_at(model, data, samples):
    """The teacher's task loss on the batch warped by this seed's transforms, against the given labels."""
    torch.manual_seed(123)
    with torch.no_grad():
        inputs, _ = model.augmentor(data['inputs'], None, generator=model.noise_generator())
        losses = model.teacher.loss(model.teacher_inputs(inputs, samples), samples)
    return float(model.teacher.parse_losses(losses)[0])


def stepped(batch, teacher_weight, steps=3):
    """A HARD model's objective before and after ``steps`` augmentor updates on ``batch``; the teacher's task
    loss is also measured against the labels warped by the initial transforms (the targets the update's
    gradient saw: the warped labels themselves are not differentiable)."""
    torch.manual_seed(0)
    # the centre learned too: with the spread alone three small steps move the objective too little to see
    model = build_hard(teacher_weight=teacher_weight, augmentor_optimizer=dict(type='Adam', lr=0.02),
                       augmentor=dict(type='AffineAugmentor', learn_mean=True))
    model.train()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    student_before = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    torch.manual_seed(123)
    _, first_labels = model.augmentor(data['inputs'], copy.deepcopy(data['data_samples']),
                                      generator=model.noise_generator())
    before = dict(objective(model, data), teacher_fixed=teacher_task_at(model, data, first_labels))
    for _ in range(steps):
        torch.manual_seed(123)
        model.update_augmentor(data['inputs'], data['data_samples'])
    assert all(p.grad is None for p in model.parameters())  # nothing else accumulated a gradient
    assert not any(p.requires_grad for p in model.augmentor.parameters())
    for key, value in model.architecture.state_dict().items():  # the student is untouched (BN stats too)
        torch.testing.assert_close(value, student_before[key], msg=key)
    return before, dict(objective(model, data), teacher_fixed=teacher_task_at(model, data, first_labels))


@pytest.mark.numerics
def test_augmentor_steps_raise_the_disagreement(batch):
    before, after = stepped(batch, teacher_weight=0.0)
    assert after['disagreement'] > before['disagreement'], (before, after)


@pytest.mark.numerics
def test_the_constraint_lowers_the_teachers_task_loss(batch):
    # A random teacher's task loss is about 200x less sensitive to the transforms than the ACAM-KD loss
    # (gradient norms 0.013 and 2.6 here): a weight of 1e4 lets the constraint lead.
    before, after = stepped(batch, teacher_weight=1e4)
    assert after['teacher_fixed'] < before['teacher_fixed'], (before, after)


def stated_objective_gradients(model, data, teacher_weight):
    """d/d(phi) of  -sum_k L_k(T(g(x)), S(g(x))) + teacher_weight * L_task(T, g(x), g(y)), composed by hand:
    the neck features of both models on the warped batch, each level's ACAM-KD disagreement
    loss_weight * (L^c + L^s) from the masks' pieces with every path plain (no Dice or mass term, no
    detach, no gradient reversal), the teacher's task loss. Same transforms as the model's step (seed 123)."""
    params = list(model.augmentor.parameters())
    buffers = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    model.augmentor.requires_grad_(True)
    torch.manual_seed(123)
    inputs, samples = model.augmentor(data['inputs'], copy.deepcopy(data['data_samples']),
                                      generator=model.noise_generator())
    teacher_feats = model.teacher.extract_feat(model.teacher_inputs(inputs, samples))
    student_feats = model.architecture.extract_feat(inputs)
    disagreement = 0
    for level, (f_s, f_t) in enumerate(zip(student_feats, teacher_feats)):
        loss = model.distiller.distill_losses[f'loss_acam_l{level}']
        assert loss.feature_norm == 'channel' and loss.distance == 'mse' and loss.div_weight and loss.mass_weight
        aligned, teacher = standardize_channels(loss.align(f_s)), standardize_channels(f_t)
        pooled, projected = loss.fusion.summaries(teacher, aligned, loss.masks.spatial_units)
        channel_masks, spatial_masks = loss.masks(pooled, projected, teacher.shape[2:])
        diff = (teacher - aligned).flatten(2)
        disagreement = disagreement + loss.loss_weight * (
            masked_mimic_loss(diff, channel_masks, 1, loss.normalize)
            + masked_mimic_loss(diff, spatial_masks.flatten(2), 2, loss.normalize))
    task, _ = model.teacher.parse_losses(model.teacher.loss(model.teacher_inputs(inputs, samples), samples))
    grads = torch.autograd.grad(-disagreement + teacher_weight * task, params)
    model.augmentor.requires_grad_(False)
    model.architecture.load_state_dict(buffers)
    return grads, float(disagreement), float(task)


@pytest.mark.parametrize('mask_learning', ['minmax', 'online'])
def test_the_augmentor_gradient_is_the_gradient_of_the_stated_objective(batch, mask_learning):
    torch.manual_seed(0)
    acam = Config.fromfile(HARD_COCO).model.acam
    model = build_hard(teacher_weight=0.5, augmentor=dict(type='AffineAugmentor', learn_mean=True),
                       acam=dict(acam, mask_learning=mask_learning))
    model.train()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    student_before = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    expected, disagreement, task = stated_objective_gradients(model, data, teacher_weight=0.5)
    torch.manual_seed(123)
    grads, terms = model.augmentor_gradients(data['inputs'], data['data_samples'])
    assert float(terms['disagreement']) == pytest.approx(disagreement, rel=1e-5)
    assert float(terms['teacher_task']) == pytest.approx(task, rel=1e-5)
    for got, want in zip(grads, expected):
        assert want.abs().max() > 0
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6 * float(want.abs().max()))
    # the teacher's side of the disagreement is part of it: without it the gradient is another one
    model.augmentor_teacher_grad = False
    torch.manual_seed(123)
    student_only, _ = model.augmentor_gradients(data['inputs'], data['data_samples'])
    assert not all(torch.allclose(a, b, rtol=1e-2) for a, b in zip(student_only, expected))
    assert all(p.grad is None for p in model.parameters())  # the teacher's (frozen) parameters included
    assert not any(p.requires_grad for p in model.teacher.parameters())
    for key, value in model.architecture.state_dict().items():
        torch.testing.assert_close(value, student_before[key], msg=key)


def test_the_augmentor_and_its_optimizer_travel_in_the_state_dict(batch):
    model = build_hard()
    model.train()
    model.train_step(copy.deepcopy(batch), build_optim(model))
    state = model.state_dict()
    assert 'augmentor.log_std' in state and int(state['hard_step']) == 1
    fresh = build_hard()
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.augmentor.log_std, model.augmentor.log_std)
    assert not torch.equal(model.augmentor.log_std, build_hard().augmentor.log_std)  # it was updated
    saved, restored = model.augmentor_optim.state_dict(), fresh.augmentor_optim.state_dict()
    torch.testing.assert_close(restored['state'][0]['exp_avg'], saved['state'][0]['exp_avg'])
    assert restored['state'][0]['step'] == saved['state'][0]['step'] == 1


def build_optim(model):
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)))


@pytest.mark.parametrize('bad, match', [(dict(augmentor_interval=0), 'augmentor_interval'),
                                        (dict(augment_prob=1.5), 'probability'),
                                        (dict(augmentor=dict(type='AffineAugmentor', max_scale=0.5)), 'max_scale')])
def test_bad_settings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        build_hard(**bad)


def test_a_centre_fixed_at_the_identity_is_not_a_parameter():
    augmentor = AffineAugmentor(learn_mean=False, init_std=0.5)
    assert [name for name, _ in augmentor.named_parameters()] == ['log_std']
    drawn = augmentor.sample(20000)
    assert drawn.mean(dim=0).abs().max() < 0.02 * augmentor.bounds.max()  # symmetric around the identity
    drawn.abs().mean().backward()
    assert augmentor.log_std.grad is not None
