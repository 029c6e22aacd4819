"""PSKDLoss and PSKDFocalLoss against references written from the formulas, and inside real heads.

References: the official (N, C) loss as lgcnsai/PS-KD-Pytorch writes it (``(-targets * log_softmax)
.mean(0).sum()`` with targets ``(1 - a) * onehot + a * prev``); dense inputs walked pixel by pixel in
float64 numpy; the soft-target focal loss element by element. In the heads, a "snapshot" equal to the
student itself must make the losses hit their known values (entropy for softmax, 0 for the QFL form),
which only happens when every level and pixel of the snapshot lines up with the student's.
"""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_plugin.engine.hooks.pskd_memory import PredictionMemory
from mmkd_plugin.engine.hooks.pskd_providers import GivenPredictions, MemoryProvider
from mmkd_plugin.models.losses.pskd import PSKDLoss
from mmkd_plugin.models.losses.pskd_focal import PSKDFocalLoss, PSKDQualityFocalLoss
from mmkd_devtools.testing import offline_model_cfg, packed_det_batch, packed_seg_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_DEMO = osp.join(REPO, 'configs/demo/pskd_deeplabv3_r18-w16_synthetic-cityscapes.py')
RETINA_DEMO = osp.join(REPO, 'configs/demo/retinanet_r18-w16_synthetic-coco.py')
FRCNN = osp.join(REPO, 'configs/pskd/pskd_faster-rcnn-r50_1x_coco.py')
DENSE_HEAD_CONFIGS = {head: osp.join(REPO, 'configs/pskd', name) for head, name in (
    ('GFLHead', 'pskd_gfl-r50_1x_coco.py'), ('FCOSHead', 'pskd_fcos-r50-caffe_1x_coco.py'),
    ('RTMDetSepBNHead', 'pskd_rtmdet-tiny_300e_coco.py'))}


pytestmark = pytest.mark.usefixtures('one_thread')  # tiny models: see tests/fixtures/threads.py

def official_pskd_loss(output, targets_onehot, prev, alpha_t):
    """loss/pskd_loss.py + main.py of the official code, for (N, C) outputs."""
    soft_targets = (1 - alpha_t) * targets_onehot + alpha_t * prev
    log_probs = torch.log_softmax(output, dim=1)
    return (-soft_targets * log_probs).mean(0).sum()


def test_nc_loss_reproduces_the_official_formula():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 10), torch.randint(0, 10, (6,))
    prev = torch.softmax(torch.randn(6, 10), 1)
    seen = torch.tensor([True, True, False, True, False, True])
    loss = PSKDLoss()
    loss.attach_provider(GivenPredictions(alpha=0.37, probs=prev, seen=seen))
    onehot = torch.eye(10)[labels]
    # unseen rows hold the one-hot label, as the official memory does during epoch 0
    expected = official_pskd_loss(logits, onehot, torch.where(seen[:, None], prev, onehot), 0.37)
    torch.testing.assert_close(loss(logits, labels), expected, rtol=1e-6, atol=1e-7)


def at_alpha_0(loss):
    """What PSKDHook's providers answer at alpha = 0 (the first step of the schedule's limit)."""
    loss.attach_provider(GivenPredictions(alpha=0.0))
    return loss


def test_at_alpha_0_it_is_the_stock_cross_entropy():
    from mmseg.models.losses import CrossEntropyLoss
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 7), torch.randint(0, 7, (5,))
    torch.testing.assert_close(at_alpha_0(PSKDLoss())(logits, labels), F.cross_entropy(logits, labels))
    dense, seg = torch.randn(2, 4, 5, 6), torch.randint(0, 4, (2, 5, 6))
    seg[0, :2] = 255
    weight = torch.rand(2, 5, 6)
    for avg_non_ignore in (False, True):
        ref = CrossEntropyLoss(avg_non_ignore=avg_non_ignore)(dense, seg, weight=weight, ignore_index=255)
        mine = at_alpha_0(PSKDLoss(avg_non_ignore=avg_non_ignore))(dense, seg, weight=weight, ignore_index=255)
        torch.testing.assert_close(mine, ref)
    loss = PSKDLoss()
    loss.attach_provider(GivenPredictions(alpha=0.0, logits=torch.randn(2, 4, 5, 6)))
    torch.testing.assert_close(loss(dense, seg, ignore_index=255),
                               CrossEntropyLoss()(dense, seg, ignore_index=255))


def ref_dense(logits, prev_logits, labels, alpha, avg_non_ignore, ignore=255):
    """Per pixel, float64: -sum_k ((1-a) onehot + a softmax(prev))_k log softmax(z)_k, then the mean."""
    z, p, y = logits.double().numpy(), prev_logits.double().numpy(), labels.numpy()
    n, c, h, w = z.shape
    total, valid = 0.0, 0
    for b in range(n):
        for i in range(h):
            for j in range(w):
                if y[b, i, j] == ignore:
                    continue
                zz, pp = z[b, :, i, j], p[b, :, i, j]
                log_q = zz - zz.max() - math.log(np.exp(zz - zz.max()).sum())
                prev = np.exp(pp - pp.max()) / np.exp(pp - pp.max()).sum()
                target = alpha * prev
                target[y[b, i, j]] += 1 - alpha
                total -= float((target * log_q).sum())
                valid += 1
    return total / (valid if avg_non_ignore else n * h * w)


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_dense_soft_targets_per_pixel_with_ignore(avg_non_ignore):
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 4, 6, requires_grad=True)
    prev = torch.randn(2, 5, 4, 6)
    labels = torch.randint(0, 5, (2, 4, 6))
    labels[1, 1:3, 2:5] = 255
    loss = PSKDLoss(avg_non_ignore=avg_non_ignore)
    loss.attach_provider(GivenPredictions(alpha=0.6, logits=prev))
    value = loss(logits, labels, ignore_index=255)
    assert abs(float(value) - ref_dense(logits.detach(), prev, labels, 0.6, avg_non_ignore)) < 1e-5
    value.backward()
    ignored = (labels == 255)[:, None].expand_as(logits)
    assert logits.grad[ignored].abs().max() == 0
    assert logits.grad[~ignored].abs().max() > 0
    # what the snapshot predicts on ignored pixels does not matter
    prev2 = prev.clone()
    prev2[ignored] = 100.0
    loss.attach_provider(GivenPredictions(alpha=0.6, logits=prev2))
    torch.testing.assert_close(loss(logits, labels, ignore_index=255), value)


def test_snapshot_logits_are_upsampled_like_mmseg_upsamples_the_student():
    from mmseg.models.utils import resize
    torch.manual_seed(2)
    logits, labels = torch.randn(2, 3, 16, 24), torch.randint(0, 3, (2, 16, 24))
    small = torch.randn(2, 3, 2, 3)
    for align in (False, True):
        loss = PSKDLoss(align_corners=align)
        loss.attach_provider(GivenPredictions(alpha=0.5, logits=small))
        got = loss(logits, labels)
        loss.attach_provider(GivenPredictions(alpha=0.5, logits=resize(small, (16, 24), mode='bilinear',
                                                                    align_corners=align)))
        torch.testing.assert_close(got, loss(logits, labels))


def test_bf16_inputs_are_computed_in_fp32():
    torch.manual_seed(5)
    logits, prev, labels = torch.randn(2, 4, 3, 5), torch.randn(2, 4, 3, 5), torch.randint(0, 4, (2, 3, 5))
    loss = PSKDLoss()
    loss.attach_provider(GivenPredictions(alpha=0.4, logits=prev.bfloat16()))
    low = loss(logits.bfloat16(), labels)
    loss.attach_provider(GivenPredictions(alpha=0.4, logits=prev.bfloat16().float()))
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, loss(logits.bfloat16().float(), labels))


def test_memory_mode_records_softmax_and_rejects_dense_logits():
    """The memory provider, before anything is written: the label as target, and the softmax of the
    logits the loss asked about written to the batch's rows after the step."""
    from mmengine.structures import BaseDataElement
    logits, labels = torch.randn(3, 4), torch.tensor([0, 1, 2])
    memory = PredictionMemory(5)
    provider = MemoryProvider(lambda: 0.5, lambda: memory)
    loss = PSKDLoss()
    loss.attach_provider(provider)
    provider.start_batch(None, [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (4, 0, 2)])
    torch.testing.assert_close(loss(logits, labels), F.cross_entropy(logits, labels))
    provider.end_step()
    torch.testing.assert_close(memory.probs[[4, 0, 2]], torch.softmax(logits, 1))
    assert memory.seen.tolist() == [True, False, True, False, True]
    provider.start_batch(None, [BaseDataElement(metainfo=dict(sample_idx=1))])
    with pytest.raises(ValueError, match="mode='snapshot'"):
        loss(torch.randn(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))


def test_errors_name_the_mistake():
    with pytest.raises(ValueError, match='class-index labels'):
        at_alpha_0(PSKDLoss())(torch.randn(2, 3), torch.rand(2, 3))
    # Training without PSKDHook would silently be the plain loss.
    for loss, args in ((PSKDLoss(), (torch.randn(2, 3), torch.tensor([0, 1]))),
                       (PSKDFocalLoss(), (torch.randn(2, 3), torch.tensor([0, 3])))):
        with pytest.raises(RuntimeError, match="without PSKDHook.*dict\\(type='PSKDHook'"):
            loss(*args)
        loss.eval()(*args)  # evaluating needs no hook
    with pytest.raises(ValueError, match="start with 'loss_'"):
        PSKDLoss(loss_name='pskd')
    with pytest.raises(ValueError, match='use_sigmoid=True'):
        PSKDFocalLoss(use_sigmoid=False)


def ref_focal(logits, labels, prev, alpha, gamma=2.0, a=0.25):
    z, y, p = logits.double().numpy(), labels.numpy(), prev.double().numpy()
    out = np.zeros_like(z)
    for m in range(z.shape[0]):
        for k in range(z.shape[1]):
            t = alpha / (1 + math.exp(-p[m, k])) + (1 - alpha) * float(y[m] == k)
            q = 1 / (1 + math.exp(-z[m, k]))
            bce = -(t * math.log(q) + (1 - t) * math.log(1 - q))
            out[m, k] = bce * (a * t + (1 - a) * (1 - t)) * abs(t - q) ** gamma
    return out


def test_soft_focal_matches_mmdet_focal_and_the_formula():
    from mmdet.models.losses import FocalLoss
    torch.manual_seed(3)
    logits, labels, weight = torch.randn(20, 4), torch.randint(0, 5, (20,)), torch.rand(20)
    torch.testing.assert_close(at_alpha_0(PSKDFocalLoss())(logits, labels, weight, avg_factor=6.0),
                               FocalLoss()(logits, labels, weight, avg_factor=6.0))
    prev = torch.randn(20, 4)
    loss = PSKDFocalLoss()
    loss.attach_provider(GivenPredictions(alpha=0.3, logits=[prev]))
    expected = (ref_focal(logits, labels, prev, 0.3) * weight.double().numpy()[:, None]).sum() / 6.0
    assert abs(float(loss(logits, labels, weight, avg_factor=6.0)) - expected) < 1e-5
    with pytest.raises(RuntimeError, match='once per'):
        loss(logits, labels)  # a second call in the same forward: no second level


def test_soft_focal_is_minimal_where_the_prediction_equals_the_soft_target():
    torch.manual_seed(4)
    target_logits = torch.randn(8, 3)
    logits = target_logits.clone().requires_grad_(True)
    loss = PSKDFocalLoss()
    loss.attach_provider(GivenPredictions(alpha=1.0, logits=[target_logits]))
    value = loss(logits, torch.full((8,), 3))
    value.backward()
    assert float(value) == 0 and logits.grad.abs().max() == 0


def _build(config):
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(offline_model_cfg(cfg, '/nonexistent'))
    model.init_weights()
    return model


def test_decode_head_with_its_own_snapshot_gives_the_pixel_entropy():
    """alpha=1, snapshot = the student: the loss is the mean entropy of the upsampled prediction."""
    from mmseg.models.utils import resize
    torch.manual_seed(0)
    model = _build(SEG_DEMO).eval()  # eval: BN statistics identical in both forwards
    data = model.data_preprocessor(packed_seg_batch((64, 128), num_classes=19), True)
    with torch.no_grad():
        logits = model(data['inputs'], data['data_samples'], mode='tensor')
    loss_module = model.decode_head.loss_decode
    loss_module.attach_provider(GivenPredictions(alpha=1.0, logits=logits))
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert loss_module.provider.served == 1
    up = resize(logits, (64, 128), mode='bilinear', align_corners=False)
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    entropy = -(up.softmax(1) * up.log_softmax(1)).sum(1) * (labels != 255)
    torch.testing.assert_close(losses['decode.loss_pskd'], entropy.mean(), rtol=1e-5, atol=1e-6)


def test_retinanet_levels_line_up_with_the_snapshot():
    """alpha=1, snapshot = the student: the QFL-form loss is exactly 0 on every level."""
    torch.manual_seed(0)
    model = _build(RETINA_DEMO).eval()
    model.bbox_head.loss_cls = PSKDFocalLoss().eval()
    data = model.data_preprocessor(packed_det_batch((64, 96)), True)
    with torch.no_grad():
        cls_scores, _ = model(data['inputs'], data['data_samples'], mode='tensor')
        stock = model(**data, mode='loss')  # nothing fed: mmdet's focal loss
    loss_module = model.bbox_head.loss_cls
    loss_module.attach_provider(GivenPredictions(alpha=1.0, logits=cls_scores))
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert loss_module.provider.served == len(cls_scores) == 5
    assert all(float(v) == 0 for v in losses['loss_cls'])
    assert sum(float(v) for v in stock['loss_cls']) > 0


def test_faster_rcnn_snapshot_runs_on_the_students_sampled_rois():
    """alpha=1, snapshot = the student: the soft target is the student's own softmax on each RoI, so
    the classifier gets no gradient, which only holds if the snapshot saw the very same RoIs."""
    from mmkd_plugin.engine.hooks.pskd_hook import PSKDHook
    torch.manual_seed(0)
    model = _build(FRCNN).train()  # no dropout; the R50's BN is frozen (norm_eval), as in the snapshot
    hook = PSKDHook(mode='snapshot')
    hook.attach(model)
    hook.snapshot.load_state_dict(model.state_dict())
    hook.snapshot_iter = 0
    fc_cls = model.roi_head.bbox_head.fc_cls
    for alpha, zero_grad in ((1.0, True), (0.0, False)):
        hook.alpha = alpha
        data = model.data_preprocessor(packed_det_batch((64, 96)), True)
        losses = model(**data, mode='loss')
        fc_cls.weight.grad = None
        losses['loss_cls'].backward()
        assert float(losses['loss_cls']) > 0
        assert (fc_cls.weight.grad.abs().max() < 1e-6) == zero_grad
    hook.detach()


def ref_quality_focal(logits, labels, scores, prev, alpha, beta=2.0):
    """Element by element in float64: t = (1 - a) * score * onehot + a * sigmoid(prev), QFL's form."""
    z, y, s, p = (x.double().numpy() for x in (logits, labels, scores, prev))
    out = np.zeros_like(z)
    for m in range(z.shape[0]):
        for k in range(z.shape[1]):
            t = alpha / (1 + math.exp(-p[m, k])) + (1 - alpha) * s[m] * float(y[m] == k)
            q = 1 / (1 + math.exp(-z[m, k]))
            out[m, k] = -(t * math.log(q) + (1 - t) * math.log(1 - q)) * abs(t - q) ** beta
    return out


def test_soft_quality_focal_matches_mmdet_qfl_and_the_formula():
    from mmdet.models.losses import QualityFocalLoss
    torch.manual_seed(5)
    logits, labels = torch.randn(20, 4), torch.randint(0, 5, (20,))
    scores, weight = torch.rand(20), torch.rand(20)
    for kwargs in (dict(avg_factor=6.0), dict(), dict(reduction_override='sum'), dict(reduction_override='none')):
        torch.testing.assert_close(at_alpha_0(PSKDQualityFocalLoss())(logits, (labels, scores), weight, **kwargs),
                                   QualityFocalLoss()(logits, (labels, scores), weight, **kwargs))
    prev = torch.randn(20, 4)
    loss = PSKDQualityFocalLoss()
    loss.attach_provider(GivenPredictions(alpha=0.3, logits=[prev]))
    expected = (ref_quality_focal(logits, labels, scores, prev, 0.3) * weight.double().numpy()[:, None]).sum() / 6.0
    assert abs(float(loss(logits, (labels, scores), weight, avg_factor=6.0)) - expected) < 1e-5
    with pytest.raises(ValueError, match='activated=False'):
        PSKDQualityFocalLoss(activated=True)


@pytest.mark.parametrize('head', sorted(DENSE_HEAD_CONFIGS))
def test_dense_heads_line_up_with_the_snapshot(head):
    """alpha=1, snapshot = the student: the QFL-form loss is exactly 0 (GFL, RTMDet: per level; FCOS: one
    call over every level flattened, which must take all the snapshot's levels in FCOS's order)."""
    torch.manual_seed(0)
    model = _build(DENSE_HEAD_CONFIGS[head]).eval()
    assert type(model.bbox_head).__name__ == head
    data = model.data_preprocessor(packed_det_batch((128, 128), boxes_per_image=(3, 2)), True)
    with torch.no_grad():
        cls_scores = model(data['inputs'], data['data_samples'], mode='tensor')[0]
    loss_module = model.bbox_head.loss_cls
    loss_module.attach_provider(GivenPredictions(alpha=1.0, logits=cls_scores))
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert loss_module.provider.served == len(cls_scores)
    assert loss_module.flatten_levels == (head == 'FCOSHead')
    values = losses['loss_cls'] if isinstance(losses['loss_cls'], list) else [losses['loss_cls']]
    assert len(values) == (1 if head == 'FCOSHead' else len(cls_scores))
    assert all(abs(float(v)) < 1e-6 for v in values)
    loss_module.attach_provider(GivenPredictions(alpha=0.0, logits=cls_scores))
    with torch.no_grad():
        stock = model(**data, mode='loss')['loss_cls']
    assert sum(float(v) for v in (stock if isinstance(stock, list) else [stock])) > 0


def test_an_roi_head_loss_must_ask_for_the_sampled_rois():
    from mmkd_plugin.engine.hooks.pskd_hook import PSKDHook
    model = _build(FRCNN)
    model.roi_head.bbox_head.loss_cls.snapshot_source = 'outputs'
    message = "roi_head.bbox_head.loss_cls is the loss of an RoI head.*snapshot_source='roi_head'"
    with pytest.raises(ValueError, match=message):
        PSKDHook(mode='snapshot').attach(model)


def test_flatten_levels_takes_every_level_in_one_call_or_says_why():
    levels = [torch.randn(2, 3, 4, 4), torch.randn(2, 3, 2, 2)]  # (N, C, H, W) per level
    flat = torch.cat([lv.permute(0, 2, 3, 1).reshape(-1, 3) for lv in levels])
    loss = PSKDFocalLoss(flatten_levels=True)
    loss.attach_provider(GivenPredictions(alpha=1.0, logits=levels))
    assert float(loss(flat.clone(), torch.full((40, ), 3))) == 0 and loss.provider.served == 2
    loss.attach_provider(GivenPredictions(alpha=1.0, logits=levels))
    with pytest.raises(ValueError, match='flatten to 40 rows, the loss got 32'):
        loss(flat[:32], torch.full((32, ), 3))
    per_level = PSKDFocalLoss()  # FCOS without flatten_levels: level 0 does not fit the call
    per_level.attach_provider(GivenPredictions(alpha=1.0, logits=levels))
    with pytest.raises(ValueError, match='once over every level flattened'):
        per_level(flat, torch.full((40, ), 3))
