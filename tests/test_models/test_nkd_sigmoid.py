"""NKDLoss(probability='sigmoid') against a per-row reference written from its formula (nkd_sigmoid.py).

The reference works in float64 with ``math`` only, one anchor at a time: p = 1 / (1 + e^-z), the target term
-q_t log p_t, the non-target probabilities normalised after the power 1/temp, and the negatives weighted by
1 - prod (1 - q_c). Golden values for one hand-checked row pin the formula itself.
"""
import math

import pytest
import torch

from mmkd_plugin.models.losses import NKDLoss
from mmkd_plugin.models.losses.nkd import nkd_rows
from mmkd_plugin.models.losses.nkd_sigmoid import sigmoid_nkd_rows


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def normalised_ce(s, t, temp) -> float:
    """sum_i q̂_i log p̂_i with p̂_i = p_i^(1/temp) / sum_j p_j^(1/temp)."""
    ps = [sig(z) ** (1 / temp) for z in s]
    qs = [sig(z) ** (1 / temp) for z in t]
    return sum(q / sum(qs) * math.log(p / sum(ps)) for p, q in zip(ps, qs))


def ref_row(s, t, y, temp=1.0, gamma=1.5, negatives='teacher_mass') -> float:
    s, t = [float(v) for v in s], [float(v) for v in t]
    c = len(s)
    if y < c:
        others = [i for i in range(c) if i != y]
        target = -sig(t[y]) * math.log(sig(s[y]))
        return target - gamma * temp**2 * normalised_ce([s[i] for i in others], [t[i] for i in others], temp)
    if negatives == 'skip':
        return 0.0
    mass = 1.0 - math.prod(1.0 - sig(z) for z in t)
    return -gamma * temp**2 * mass * normalised_ce(s, t, temp)


def test_golden_values_of_one_positive_and_one_negative():
    s, t = [0.5, -1.0, -2.0], [1.0, -0.5, -3.0]
    # by hand: q_0 = 0.7310586, p_0 = 0.6224593, target = 0.7310586 * 0.4740770 = 0.3465780;
    # p̂ over classes 1, 2 = (0.2689414, 0.1192029) / 0.3881443 = (0.6928902, 0.3071098),
    # q̂ = (0.3775407, 0.0474259) / 0.4249665 = (0.8884009, 0.1115991): sum q̂ log p̂ = -0.4576881
    expected_pos = 0.3465780 + 1.5 * 0.4576881
    # negative: mass = 1 - 0.2689414 * 0.6224593 * 0.9525741 = 0.8405342; over all 3 classes
    # p̂ = (0.6224593, 0.2689414, 0.1192029) / 1.0106037, q̂ = (0.7310586, 0.3775407, 0.0474259) / 1.1560251:
    # sum q̂ log p̂ = -0.8264983
    expected_neg = 1.5 * 0.8405342 * 0.8264983
    rows = sigmoid_nkd_rows(torch.tensor([s, s], dtype=torch.float64), torch.tensor([t, t], dtype=torch.float64),
                            torch.tensor([0, 3]), 1.0, 1.5)
    assert rows[0].item() == pytest.approx(expected_pos, abs=2e-7)
    assert rows[1].item() == pytest.approx(expected_neg, abs=2e-7)
    assert ref_row(s, t, 0) == pytest.approx(expected_pos, abs=2e-7)  # the reference agrees with the hand values
    assert ref_row(s, t, 3) == pytest.approx(expected_neg, abs=2e-7)


@pytest.mark.parametrize('temp,gamma', [(1.0, 1.5), (2.0, 0.5), (4.0, 1.0)])
@pytest.mark.parametrize('negatives', ['skip', 'teacher_mass'])
def test_anchor_layout_matches_reference(temp, gamma, negatives):
    gen = torch.Generator().manual_seed(5)
    n, a, c, h, w = 2, 3, 4, 2, 3
    s = torch.randn(n, a * c, h, w, generator=gen) * 2 - 2
    t = torch.randn(n, a * c, h, w, generator=gen) * 2 - 2
    labels = torch.full((n, h * w * a), c)
    labels[0, [0, 7, 17]] = torch.tensor([1, 3, 0])
    labels[1, 10] = 2
    labels[1, 4] = 255  # ignored
    total = 0.0
    for b in range(n):
        for k in range(h * w * a):
            y = int(labels[b, k])
            if y == 255:
                continue
            i, j, anchor = k // (w * a), (k // a) % w, k % a
            rows = slice(anchor * c, (anchor + 1) * c)
            total += ref_row(s[b, rows, i, j].tolist(), t[b, rows, i, j].tolist(), y, temp, gamma, negatives)
    loss = NKDLoss(temp=temp, gamma=gamma, probability='sigmoid', negatives=negatives)
    assert loss(s, t, labels).item() == pytest.approx(total / 4, rel=1e-5)  # 4 positives
    assert loss(s, t, labels, avg_factor=10).item() == pytest.approx(total / 10, rel=1e-5)


def test_small_probabilities_give_the_softmax_forms_non_target_term():
    """log sigmoid(z) -> z for z -> -inf: the normalised sigmoids become the softmax over the same logits."""
    gen = torch.Generator().manual_seed(6)
    s = torch.randn(5, 6, generator=gen, dtype=torch.float64) - 12
    t = torch.randn(5, 6, generator=gen, dtype=torch.float64) - 12
    s[:, 0], t[:, 0] = 2.0, 1.0  # target column
    labels = torch.zeros(5, dtype=torch.long)
    for temp in (1.0, 3.0):
        soft = nkd_rows(s, t, labels, temp, 1.5) + torch.softmax(t, 1)[:, 0] * torch.log_softmax(s, 1)[:, 0]
        sigm = sigmoid_nkd_rows(s, t, labels, temp, 1.5) + torch.sigmoid(t[:, 0]) * torch.log(torch.sigmoid(s[:, 0]))
        torch.testing.assert_close(sigm, soft, rtol=1e-4, atol=1e-6)


def test_gradients_are_those_of_the_head_probability_model():
    """d/dz_t of -q_t log p_t is -q_t (1 - p_t); a negative the teacher calls background gets ~no gradient."""
    s = torch.tensor([[0.3, -1.0, -2.0], [0.3, -1.0, -2.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[1.0, -4.0, -4.0], [-30.0, -30.0, -31.0]], dtype=torch.float64)
    rows = sigmoid_nkd_rows(s, t, torch.tensor([0, 3]), 1.0, 1.5)
    rows.sum().backward()
    assert s.grad[0, 0].item() == pytest.approx(-sig(1.0) * (1 - sig(0.3)), rel=1e-9)
    assert s.grad[1].abs().max().item() < 1e-11  # teacher mass ~3e-13
    # the normalised term of a negative does not move the student's overall level: its gradient sums to ~0
    s2 = torch.tensor([[-6.0, -7.0, -8.0]], dtype=torch.float64, requires_grad=True)
    t2 = torch.tensor([[-1.0, -7.0, -5.0]], dtype=torch.float64)
    sigmoid_nkd_rows(s2, t2, torch.tensor([3]), 1.0, 1.5).sum().backward()
    assert abs(s2.grad.sum().item()) < 0.01 * s2.grad.abs().sum().item()


def test_teacher_gets_no_gradient_and_bf16_runs_in_fp32():
    s = torch.randn(2, 12, 2, 2, requires_grad=True)
    t = torch.randn(2, 12, 2, 2, requires_grad=True)
    labels = torch.full((2, 12), 4)
    labels[0, 3] = 1
    loss = NKDLoss(probability='sigmoid', negatives='teacher_mass')
    loss(s, t, labels).backward()
    assert t.grad is None and s.grad.abs().sum() > 0
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(s.bfloat16(), t.bfloat16(), labels)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(loss(s.bfloat16().float(), t.bfloat16().float(), labels).item(), rel=1e-6)


def test_negatives_only_give_a_loss_with_graph_and_skip_gives_zero():
    s = torch.randn(1, 8, 2, 2, requires_grad=True)
    t = torch.randn(1, 8, 2, 2)
    labels = torch.full((1, 8), 4)  # no positive
    with_neg = NKDLoss(probability='sigmoid', negatives='teacher_mass')(s, t, labels)
    assert with_neg.item() > 0 and with_neg.requires_grad  # divided by max(positives, 1) = 1
    skipped = NKDLoss(probability='sigmoid')(s, t, labels)
    assert skipped.item() == 0.0 and skipped.requires_grad


def test_mistakes_are_named():
    with pytest.raises(ValueError, match="probability must be one of"):
        NKDLoss(probability='bernoulli')
    with pytest.raises(ValueError, match="negatives must be one of"):
        NKDLoss(probability='sigmoid', negatives='all')
    with pytest.raises(ValueError, match="needs probability='sigmoid'"):
        NKDLoss(negatives='teacher_mass')
