"""USKDLoss against a plain per-row reference, TeacherFreeDistill, and the shipped USKD configs.

The reference (``ref_uskd``) follows methods.md §2(b) step by step in float64 numpy, one row at a
time, with the official code's choices: rank scores from log-probabilities (or probabilities),
Zipf labels 1/rank, top-2 targets for mixed labels, label smoothing 0.1 on the weak classifier.
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

from mmkd_plugin.models.losses import USKDLoss
from mmkd_devtools.testing import offline_model_cfg, packed_seg_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R18_CFG = osp.join(REPO, 'configs/uskd/uskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py')
SEG_SIZE = (64, 128)


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def ref_uskd(z_rows, w_rows, targets, values, weak_targets, alpha, beta, mu, rank='log_prob'):
    """alpha L_target + beta L_non + L_weak over rows; targets/values: K per row."""
    z_rows, w_rows = np.asarray(z_rows, np.float64), np.asarray(w_rows, np.float64)
    m, c = z_rows.shape
    probs = [softmax(z) for z in z_rows]
    q = np.array([[probs[r][y] ** 2 for y in targets[r]] for r in range(m)])
    q_mean = q.mean(axis=0)
    l_target = l_non = l_weak = 0.0
    for r in range(m):
        p, ys, vs = probs[r], targets[r], values[r]
        soft = [0.0 if vs[k] == 0 else q[r, k] + vs[k] - q_mean[k] for k in range(len(ys))]
        l_target -= sum(soft[k] * math.log(p[ys[k]]) for k in range(len(ys)))
        w = softmax(w_rows[r])
        smoothed = 0.9 * np.asarray(weak_targets[r]) + 0.1 / c
        l_weak -= mu * float(np.sum(smoothed * np.log(w)))
        score_r = np.log(p) if rank == 'log_prob' else p
        score = (w / (1 - sum(w[y] for y in ys) + 1e-6)
                 + score_r / (1 - sum(score_r[y] for y in ys) + 1e-6))
        order = sorted(range(c), key=lambda i: -score[i])
        rank_of = {cls: pos + 1 for pos, cls in enumerate(order)}
        others = [i for i in range(c) if i not in ys]
        zipf = np.array([1.0 / rank_of[i] for i in others])
        zipf /= zipf.sum()
        l_non -= float(np.sum(zipf * np.log(softmax(z_rows[r][others]))))
    return (alpha * l_target + beta * l_non + l_weak) / m


def weak_rows(loss: USKDLoss, feats: torch.Tensor) -> np.ndarray:
    """(M, Cm) features → weak logits W f + b with the module's own parameters."""
    weight = loss.weak_classifier.weight.detach().double().numpy()[:, :, 0, 0]
    bias = loss.weak_classifier.bias.detach().double().numpy()
    return feats.double().numpy() @ weight.T + bias


@pytest.mark.parametrize('alpha,beta,mu,rank', [(1.0, 0.1, 0.005, 'log_prob'),
                                                (0.1, 0.1, 0.1, 'log_prob'),
                                                (1.0, 0.5, 0.05, 'prob')])
def test_rows_match_reference(alpha, beta, mu, rank):
    torch.manual_seed(0)
    loss = USKDLoss(in_channels=8, num_classes=10, alpha=alpha, beta=beta, mu=mu, rank_scores=rank)
    z, f = torch.randn(6, 10) * 3, torch.randn(6, 8)
    y = torch.tensor([0, 9, 4, 4, 2, 7])
    expected = ref_uskd(z, weak_rows(loss, f), [[int(v)] for v in y], [[1.0]] * 6,
                        np.eye(10)[y.numpy()], alpha, beta, mu, rank)
    assert loss(z, f, y).item() == pytest.approx(expected, rel=1e-5)


def test_rank_scores_change_the_non_target_labels():
    torch.manual_seed(1)
    official = USKDLoss(in_channels=4, num_classes=19, beta=1.0)
    alternative = USKDLoss(in_channels=4, num_classes=19, beta=1.0, rank_scores='prob')
    alternative.load_state_dict(official.state_dict())
    z, f, y = torch.randn(64, 19) * 4, torch.randn(64, 4), torch.randint(0, 19, (64,))
    assert official(z, f, y).item() != pytest.approx(alternative(z, f, y).item(), rel=1e-4)


def test_mixed_soft_labels_use_the_top_two_classes():
    torch.manual_seed(2)
    loss = USKDLoss(in_channels=8, num_classes=10, alpha=1.0, beta=0.3, mu=0.1)
    z, f = torch.randn(5, 10) * 2, torch.randn(5, 8)
    first, second = torch.tensor([1, 3, 5, 7, 9]), torch.tensor([0, 2, 4, 6, 8])
    lam = torch.tensor([0.8, 0.6, 0.7, 0.9, 0.55])[:, None]
    mixed = lam * torch.eye(10)[first] + (1 - lam) * torch.eye(10)[second]
    targets = [[int(a), int(b)] for a, b in zip(first, second)]
    values = [[float(w), 1 - float(w)] for w in lam[:, 0]]
    expected = ref_uskd(z, weak_rows(loss, f), targets, values, mixed.numpy(), 1.0, 0.3, 0.1)
    assert loss(z, f, mixed).item() == pytest.approx(expected, rel=1e-5)


def test_dense_with_ignore_matches_reference():
    torch.manual_seed(3)
    loss = USKDLoss(in_channels=6, num_classes=5, alpha=1.0, beta=0.2, mu=0.05)
    z, f = torch.randn(2, 5, 4, 6) * 2, torch.randn(2, 6, 4, 6)
    labels = torch.randint(0, 5, (2, 1, 32, 48))  # 8x the logits: nearest = every 8th pixel
    labels[torch.rand(labels.shape) < 0.3] = 255
    rows_z, rows_f, ys = [], [], []
    for b in range(2):
        for i in range(4):
            for j in range(6):
                y = int(labels[b, 0, 8 * i, 8 * j])
                if y != 255:
                    rows_z.append(z[b, :, i, j].numpy()), rows_f.append(f[b, :, i, j]), ys.append([y])
    w = weak_rows(loss, torch.stack(rows_f))
    expected = ref_uskd(rows_z, w, ys, [[1.0]] * len(ys), np.eye(5)[[y[0] for y in ys]], 1.0, 0.2, 0.05)
    assert loss(z, f, labels).item() == pytest.approx(expected, rel=1e-5)


def test_no_valid_pixel_gives_zero_with_graph_and_weak_classifier_learns():
    loss = USKDLoss(in_channels=4, num_classes=19)
    z = torch.randn(1, 19, 8, 8, requires_grad=True)
    zero = loss(z, torch.randn(1, 4, 8, 8), torch.full((1, 8, 8), 255))
    assert zero.item() == 0.0 and zero.requires_grad
    zero.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))
    loss.zero_grad()
    loss(z, torch.randn(1, 4, 4, 4), torch.randint(0, 19, (1, 8, 8))).backward()  # weak logits resized
    assert loss.weak_classifier.weight.grad.abs().sum() > 0


def test_mistakes_are_explained():
    loss = USKDLoss(in_channels=4, num_classes=19)
    with pytest.raises(ValueError, match='in_channels'):
        loss(torch.randn(1, 19, 8, 8), torch.randn(1, 5, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match='num_classes'):
        loss(torch.randn(1, 18, 8, 8), torch.randn(1, 4, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match='rank_scores'):
        USKDLoss(in_channels=4, num_classes=19, rank_scores='logits')


def teacher_free_cfg(config: str) -> Config:
    cfg = Config.fromfile(config)
    cfg.model.architecture.data_preprocessor.size = SEG_SIZE
    return cfg


def test_records_reach_the_loss_and_weak_classifier_is_checkpointed(tmp_path):
    cfg = teacher_free_cfg(R18_CFG)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(offline_model_cfg(cfg, str(tmp_path)))
    model.init_weights()
    model.train()
    assert 'distiller.distill_losses.loss_uskd.weak_classifier.weight' in model.state_dict()
    data = model.data_preprocessor(copy.deepcopy(packed_seg_batch(SEG_SIZE)), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    recorders = model.distiller.student_recorders
    gt = recorders.get_recorder('gt').get_record_data(0)
    assert torch.equal(gt, torch.stack([s.gt_sem_seg.data for s in data['data_samples']]))
    z = recorders.get_recorder('logits').get_record_data(0).detach()
    f = recorders.get_recorder('backbone').get_record_data(0, 2).detach()
    assert f.shape[1] == 256 and f.shape[-2:] == z.shape[-2:] == (8, 16)
    uskd = model.distiller.distill_losses['loss_uskd']
    rows_z, rows_f, ys = [], [], []
    for b in range(2):
        for i in range(8):
            for j in range(16):
                y = int(gt[b, 0, 8 * i, 8 * j])
                if y != 255:
                    rows_z.append(z[b, :, i, j].numpy()), rows_f.append(f[b, :, i, j]), ys.append([y])
    assert uskd.loss_weight == 1.0  # the config's (published) weight on the whole term
    expected = uskd.loss_weight * ref_uskd(rows_z, weak_rows(uskd, torch.stack(rows_f)), ys, [[1.0]] * len(ys),
                                           np.eye(19)[[y[0] for y in ys]], 1.0, 0.1, 0.005)
    assert losses['distill.loss_uskd'].item() == pytest.approx(expected, rel=1e-4)
