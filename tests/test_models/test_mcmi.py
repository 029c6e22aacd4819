"""MCMILoss and its centroid statistics against plain float64 numpy computations of the formulas.

Reference (Ye et al., ICLR 2024; methods.md §4): P_i = softmax(z_i); Q_y = mean of the P_i of class y;
CMI = (1/N) sum_i KL(P_i || Q_{y_i}); the fine-tuning term is -lambda * mean_i KL(P_i || Q_{y_i}).
"""
import numpy as np
import pytest
import torch

from mmkd_plugin.models.losses import MCMILoss
from mmkd_plugin.models.losses.mcmi import cmi_kl_rows

C = 4


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ref_centroids(rows, labels, num_classes):
    p = softmax(np.asarray(rows, np.float64))
    return np.stack([p[labels == y].mean(axis=0) for y in range(num_classes)])


def ref_mean_kl(rows, labels, q):
    p = softmax(np.asarray(rows, np.float64))
    return float(np.mean([np.sum(p[i] * (np.log(p[i]) - np.log(q[y]))) for i, y in enumerate(labels)]))


def seg_inputs(seed=0, ignore_fraction=0.3):
    """(2, C, 4, 6) logits and (2, 1, 8, 12) labels (twice the logit size, some 255)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, C, 4, 6, generator=g) * 2
    labels = torch.randint(0, C, (2, 1, 8, 12), generator=g)
    labels[torch.rand(labels.shape, generator=g) < ignore_fraction] = 255
    return logits, labels


def seg_rows(logits, labels):
    """The reference's rows: labels downsampled by taking every second pixel (nearest), 255 dropped."""
    small = labels[:, 0, ::2, ::2]
    rows = logits.permute(0, 2, 3, 1).reshape(-1, C).double().numpy()
    flat = small.reshape(-1).numpy()
    keep = flat != 255
    return rows[keep], flat[keep]


def collected(loss, *batches):
    loss.start_collecting()
    for preds, labels in batches:
        out = loss(preds, labels)
        assert float(out) == 0.0  # collecting: no loss yet
    return loss.finish_collecting()


def test_centroids_are_the_per_class_mean_softmax_over_valid_pixels():
    loss = MCMILoss(num_classes=C)
    batches = [seg_inputs(0), seg_inputs(1)]
    stats = collected(loss, *batches)
    rows, labels = zip(*(seg_rows(*b) for b in batches))
    rows, labels = np.concatenate(rows), np.concatenate(labels)
    expected = ref_centroids(rows, labels, C)
    np.testing.assert_allclose(loss.centroids.double().numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(stats.counts.numpy(), np.bincount(labels, minlength=C))
    assert bool(loss.centroids_ready)


def test_cmi_estimate_equals_the_mean_kl_to_the_centroids():
    loss = MCMILoss(num_classes=C)
    batch = seg_inputs(2)
    stats = collected(loss, batch)
    rows, labels = seg_rows(*batch)
    expected = ref_mean_kl(rows, labels, ref_centroids(rows, labels, C))
    assert expected > 0.01
    assert stats.cmi() == pytest.approx(expected, rel=1e-9)


def test_loss_is_minus_lambda_times_the_mean_kl():
    loss = MCMILoss(num_classes=C, loss_weight=0.25)
    q = softmax(np.random.default_rng(0).normal(size=(C, C)))
    loss.centroids.copy_(torch.from_numpy(q))
    loss.class_counts.fill_(1)
    loss.centroids_ready.fill_(True)
    logits, labels = seg_inputs(3)
    value = loss(logits, labels)
    rows, flat = seg_rows(logits, labels)
    assert float(value) == pytest.approx(-0.25 * ref_mean_kl(rows, flat, q), rel=1e-5)


def test_anchor_levels_share_one_table_and_skip_negatives():
    """Two FPN levels in the anchor-head layout: positives of both levels make one centroid table."""
    g = torch.Generator().manual_seed(0)
    num_anchors = 2
    levels = [torch.randn(2, num_anchors * C, h, h, generator=g) for h in (4, 2)]
    labels = [torch.randint(0, C + 1, (2, h * h * num_anchors), generator=g) for h in (4, 2)]  # C = negative
    loss = MCMILoss(num_classes=C)
    collected(loss, (levels, labels))
    rows = np.concatenate([lv.permute(0, 2, 3, 1).reshape(-1, C).double().numpy() for lv in levels])
    flat = np.concatenate([lb.reshape(-1).numpy() for lb in labels])
    keep = flat < C
    np.testing.assert_allclose(loss.centroids.double().numpy(), ref_centroids(rows[keep], flat[keep], C),
                               rtol=1e-5)


@pytest.mark.numerics
def test_a_step_on_the_loss_moves_predictions_away_from_their_centroid():
    loss = MCMILoss(num_classes=C, loss_weight=1.0)
    logits, labels = seg_inputs(4)
    collected(loss, (logits, labels))
    logits = logits.clone().requires_grad_(True)
    before = loss(logits, labels)
    before.backward()
    with torch.no_grad():
        stepped = logits - 1.0 * logits.grad
    after = loss(stepped, labels)
    assert float(after.detach()) < float(before.detach())  # -lambda * KL went down: KL(P || Q_y) went up


def test_unseen_classes_are_left_out_and_missing_centroids_are_named():
    loss = MCMILoss(num_classes=C)
    logits, labels = seg_inputs(5)
    with pytest.raises(RuntimeError, match='MCMICentroidHook'):
        loss(logits, labels)
    seen_only = labels.clone()
    seen_only[seen_only == 3] = 255  # class 3 never seen in the pass
    collected(loss, (logits, seen_only))
    assert loss.class_counts[3] == 0
    value = loss(logits, labels)  # the rows of class 3 do not count
    assert float(value) == pytest.approx(float(loss(logits, seen_only)), rel=1e-6)
    everything_ignored = torch.full_like(labels, 255)
    zero = loss(logits.requires_grad_(True), everything_ignored)
    assert float(zero) == 0.0 and zero.requires_grad


def test_wrong_class_count_is_named():
    loss = MCMILoss(num_classes=C + 1)
    with pytest.raises(ValueError, match='num_classes=5'):
        loss.start_collecting()
        loss(*seg_inputs(0))
    loss._statistics = None


def test_bf16_autocast_matches_float32():
    loss = MCMILoss(num_classes=C)
    logits, labels = seg_inputs(6)
    collected(loss, (logits, labels))
    reference = loss(logits, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(logits.bfloat16(), labels)
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(float(reference), rel=2e-2)


def test_kl_rows_against_numpy():
    g = torch.Generator().manual_seed(7)
    rows = torch.randn(5, C, generator=g)
    labels = torch.tensor([0, 1, 2, 3, 1])
    q = torch.softmax(torch.randn(C, C, generator=g), dim=1)
    p = softmax(rows.double().numpy())
    expected = [np.sum(p[i] * (np.log(p[i]) - np.log(q.double().numpy()[y]))) for i, y in enumerate(labels)]
    np.testing.assert_allclose(cmi_kl_rows(rows, labels, q).numpy(), expected, rtol=1e-5)


def test_roi_rows_keep_the_background_class():
    """Faster R-CNN: (M, 80 + 1) RoI scores with assigned labels; background (the last class) has a centroid."""
    g = torch.Generator().manual_seed(3)
    rows = torch.randn(40, C, generator=g)
    labels = torch.arange(40) % C  # C - 1 plays the background label
    loss = MCMILoss(num_classes=C)
    collected(loss, (rows, labels))
    np.testing.assert_allclose(loss.centroids.double().numpy(),
                               ref_centroids(rows.double().numpy(), labels.numpy(), C), rtol=1e-5)
    assert int(loss.class_counts[C - 1]) == 10
