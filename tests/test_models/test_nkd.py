"""NKDLoss against a plain per-row reference, and the shipped NKD configs end to end.

The reference (``ref_nkd_row``) is written from the formula in methods.md §2(a), in float64 numpy,
one row at a time; dense inputs are walked pixel by pixel with their own nearest-neighbour index
arithmetic. The config tests check that the labels the recorders deliver are the ones the student's
own loss used, and that the distillation loss on those records equals the reference.
"""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_plugin.models.losses import NKDLoss
from mmkd_devtools.testing import offline_model_cfg, packed_det_batch, packed_seg_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_CFG = osp.join(REPO, 'configs/nkd/'
                   'nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py')
CWD_DEMO_CFG = osp.join(REPO, 'configs/demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')
DLV3_R18 = 'mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py'
RETINA_CFG = osp.join(REPO, 'configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py')
FRCNN_CFG = osp.join(REPO, 'configs/nkd/nkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py')


def softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def ref_nkd_row(s, t, y, temp, gamma) -> float:
    """-T_y log S_y - gamma temp^2 sum_{i != y} T^temp_i log S^temp_i, for one row."""
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
    loss = -softmax(t)[y] * math.log(softmax(s)[y])
    others = [i for i in range(len(s)) if i != y]
    s_nt, t_nt = softmax(s[others] / temp), softmax(t[others] / temp)
    return loss - gamma * temp**2 * float(np.sum(t_nt * np.log(s_nt)))


def ref_nkd_dense(s, t, labels, temp=1.0, gamma=1.5, ignore=255) -> float:
    """Mean of ref_nkd_row over valid pixels; labels (N, H', W') sampled at floor(i * H'/H)."""
    s, t, labels = s.double().numpy(), t.double().numpy(), labels.numpy()
    n, c, h, w = s.shape
    losses = []
    for b in range(n):
        for i in range(h):
            for j in range(w):
                y = int(labels[b, i * labels.shape[1] // h, j * labels.shape[2] // w])
                if y != ignore and 0 <= y < c:
                    losses.append(ref_nkd_row(s[b, :, i, j], t[b, :, i, j], y, temp, gamma))
    return float(np.mean(losses))


@pytest.mark.parametrize('temp,gamma', [(1.0, 1.5), (2.0, 0.5), (4.0, 1.0), (3.0, 3.5)])
def test_rows_match_reference(temp, gamma):
    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 7, generator=gen) * 3, torch.randn(6, 7, generator=gen) * 3
    y = torch.tensor([0, 6, 3, 3, 1, 5])
    expected = np.mean([ref_nkd_row(s[k], t[k], int(y[k]), temp, gamma) for k in range(6)])
    loss = NKDLoss(temp=temp, gamma=gamma, loss_weight=0.7)(s, t, y)
    assert loss.item() == pytest.approx(0.7 * expected, rel=1e-5)


def test_soft_labels_use_the_arg_max_and_teacher_gets_no_gradient():
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(4, 5, generator=gen, requires_grad=True)
    t = torch.randn(4, 5, generator=gen, requires_grad=True)
    y = torch.tensor([2, 0, 4, 1])
    mixed = 0.6 * torch.eye(5)[y] + 0.4 * torch.eye(5)[torch.tensor([1, 3, 0, 2])]
    loss = NKDLoss()(s, t, mixed)
    assert loss.item() == pytest.approx(NKDLoss()(s, t, y).item(), rel=1e-6)
    loss.backward()
    assert t.grad is None and s.grad.abs().sum() > 0


@pytest.mark.parametrize('label_layout', ['NHW', 'N1HW_upsampled'])
def test_dense_with_ignore_matches_reference(label_layout):
    gen = torch.Generator().manual_seed(2)
    s, t = torch.randn(2, 5, 4, 6, generator=gen) * 2, torch.randn(2, 5, 4, 6, generator=gen) * 2
    scale = 1 if label_layout == 'NHW' else 8
    labels = torch.randint(0, 5, (2, 4 * scale, 6 * scale), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < 0.3] = 255
    arg = labels if label_layout == 'NHW' else labels[:, None].to(torch.uint8)
    for temp, gamma in [(1.0, 1.5), (2.0, 3.5)]:
        loss = NKDLoss(temp=temp, gamma=gamma)(s, t, arg)
        assert loss.item() == pytest.approx(ref_nkd_dense(s, t, labels, temp, gamma), rel=1e-5)


def test_no_valid_pixel_gives_zero_with_graph():
    s = torch.randn(2, 19, 8, 16, requires_grad=True)
    loss = NKDLoss()(s, torch.randn(2, 19, 8, 16), torch.full((2, 1, 64, 128), 255))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(s.grad, torch.zeros_like(s))


def test_anchor_layout_uses_positives_and_avg_factor():
    gen = torch.Generator().manual_seed(3)
    n, a, c, h, w = 2, 3, 4, 2, 3
    s, t = torch.randn(n, a * c, h, w, generator=gen), torch.randn(n, a * c, h, w, generator=gen)
    labels = torch.full((n, h * w * a), c)  # background = C
    labels[0, [0, 7, 17]] = torch.tensor([1, 3, 0])
    labels[1, 10] = 2
    total = 0.0
    for b, k in zip(*torch.nonzero(labels < c, as_tuple=True)):
        i, j, anchor = int(k) // (w * a), (int(k) // a) % w, int(k) % a
        rows = slice(anchor * c, (anchor + 1) * c)
        total += ref_nkd_row(s[b, rows, i, j], t[b, rows, i, j], int(labels[b, k]), 1.0, 1.5)
    assert NKDLoss()(s, t, labels).item() == pytest.approx(total / 4, rel=1e-5)
    assert NKDLoss()(s, t, labels, avg_factor=10).item() == pytest.approx(total / 10, rel=1e-5)


def test_bf16_autocast_computes_in_fp32():
    gen = torch.Generator().manual_seed(4)
    s = torch.randn(2, 19, 8, 8, generator=gen).bfloat16()
    t = torch.randn(2, 19, 8, 8, generator=gen).bfloat16()
    labels = torch.randint(0, 19, (2, 8, 8), generator=gen)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = NKDLoss()(s, t, labels)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(ref_nkd_dense(s.float(), t.float(), labels), rel=1e-5)


def test_shape_mistakes_are_explained():
    with pytest.raises(ValueError, match='differ'):
        NKDLoss()(torch.randn(2, 5), torch.randn(2, 6), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match='anchor-head labels'):
        NKDLoss()(torch.randn(1, 8, 2, 2), torch.randn(1, 8, 2, 2), torch.zeros(1, 7, dtype=torch.long))


def build_light(config: str, work_dir: str, teacher_cfg: str, extra_teacher_recorders=None, options=None):
    """The config's model with a light teacher (the student's own architecture), built offline."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    cfg.model.teacher = dict(cfg_path=teacher_cfg)
    if extra_teacher_recorders:
        cfg.model.distiller.teacher_recorders.update(extra_teacher_recorders)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(offline_model_cfg(cfg, work_dir))
    model.init_weights()
    return model.train()


def run_loss(model, batch):
    data = model.data_preprocessor(copy.deepcopy(batch), training=True)
    return model.loss(data['inputs'], data['data_samples']), data['data_samples']


def test_seg_labels_reach_the_loss(tmp_path):
    model = build_light(SEG_CFG, str(tmp_path), DLV3_R18)
    losses, samples = run_loss(model, packed_seg_batch((64, 128), num_classes=19))
    records = model.distiller
    gt = records.student_recorders.get_recorder('gt').get_record_data(0)
    assert torch.equal(gt, torch.stack([s.gt_sem_seg.data for s in samples]))
    assert (gt == 255).any() and gt.shape == (2, 1, 64, 128)
    s = records.student_recorders.get_recorder('logits').get_record_data(0).detach()
    t = records.teacher_recorders.get_recorder('logits').get_record_data(0)
    assert s.shape == (2, 19, 8, 16)
    nkd = model.distiller.distill_losses['loss_nkd']
    assert (nkd.temp, nkd.loss_weight) == (1.0, 1.0)  # the config's (published) temperature and weight
    expected = nkd.loss_weight * ref_nkd_dense(s, t, gt[:, 0], temp=nkd.temp)
    assert losses['distill.loss_nkd'].item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('form', ['sigmoid', 'softmax'])
def test_retinanet_positives_and_avg_factor_reach_the_loss(tmp_path, form):
    """The shipped config's form (per-class sigmoid, negatives by teacher mass: every anchor with a label, the
    assigner's ignored ones included, against ``ref_row``) and the paper's softmax (positives, ``ref_nkd_row``)."""
    from tests.test_models.test_nkd_sigmoid import ref_row
    options = {} if form == 'sigmoid' else {'model.distiller.loss.probability': 'softmax',
                                            'model.distiller.loss.negatives': 'skip'}
    model = build_light(RETINA_CFG, str(tmp_path), 'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py',
                        options=options)
    assert model.distiller.distill_losses['loss_nkd_l0'].probability == form
    losses, _ = run_loss(model, packed_det_batch((128, 160), boxes_per_image=(3, 2)))
    level = model.distiller.student_recorders.get_recorder('head')  # DenseHeadLogitDistiller's names
    teacher = model.distiller.teacher_recorders.get_recorder('logits')
    total, positives = 0.0, 0
    for lvl in range(5):
        cls_score, labels, avg_factor = (level.get_record_data(lvl, i) for i in (0, 3, 7))
        t = teacher.get_record_data(lvl)
        assert t.shape == cls_score.shape
        n, ac, h, w = cls_score.shape
        a = labels.shape[1] // (h * w)
        positives += int((labels < 80).sum())
        for b, k in zip(*torch.nonzero(labels <= (80 if form == 'sigmoid' else 79), as_tuple=True)):
            i, j, anchor = int(k) // (w * a), (int(k) // a) % w, int(k) % a
            rows = slice(anchor * 80, (anchor + 1) * 80)
            s_row, t_row = cls_score[b, rows, i, j].detach(), t[b, rows, i, j]
            y = int(labels[b, k])
            total += ref_row(s_row, t_row, y) if form == 'sigmoid' else ref_nkd_row(s_row, t_row, y, 1.0, 1.5)
    assert positives == avg_factor > 0
    distill = sum(v for k, v in losses.items() if k.startswith('distill.loss_nkd'))
    weight = model.distiller.distill_losses['loss_nkd_l0'].loss_weight
    assert weight == 1.0  # the config's (published) weight, the same on every level
    assert distill.item() == pytest.approx(weight * total / avg_factor, rel=1e-4)


def test_faster_rcnn_teacher_classifies_the_student_rois(tmp_path):
    roi_inputs = dict(rois=dict(type='ModuleInputs', source='roi_head.bbox_roi_extractor'))
    model = build_light(FRCNN_CFG, str(tmp_path), 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py',
                        extra_teacher_recorders=roi_inputs)
    losses, _ = run_loss(model, packed_det_batch((128, 160), boxes_per_image=(3, 2)))
    student_rois = model.student_rois.get_recorder('rois').get_record_data(0, 1)
    teacher_rois = model.distiller.teacher_recorders.get_recorder('rois').get_record_data(0, 1)
    assert torch.equal(student_rois, teacher_rois)
    s = model.distiller.student_recorders.get_recorder('logits').get_record_data(0).detach()
    t = model.distiller.teacher_recorders.get_recorder('logits').get_record_data(0)
    labels = model.distiller.student_recorders.get_recorder('targets').get_record_data(0, 0)
    assert s.shape == t.shape == (len(student_rois), 81) and labels.shape == (len(student_rois),)
    assert (labels == 80).any() and (labels < 80).any()  # background rows count too
    expected = np.mean([ref_nkd_row(s[k], t[k], int(labels[k]), 1.0, 1.5) for k in range(len(labels))])
    assert losses['distill.loss_nkd'].item() == pytest.approx(expected, rel=1e-5)


def test_roi_teacher_distill_explains_wrong_use(tmp_path):
    cfg = Config.fromfile(CWD_DEMO_CFG)
    model_cfg = offline_model_cfg(cfg, str(tmp_path))
    model_cfg.type = 'RoITeacherDistill'
    model_cfg.pop('teacher_forward')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with pytest.raises(TypeError, match='two-stage student'):
            MODELS.build(copy.deepcopy(model_cfg))
        with pytest.raises(ValueError, match='teacher_forward'):
            MODELS.build(dict(model_cfg, teacher_forward='tensor'))
