"""NKD in the probability model of a sigmoid head (RetinaNet, ATSS, GFL, FCOS, RTMDet): per-class Bernoulli.

NKD (Yang et al., ICCV 2023, arXiv 2303.13005, Sec. 3.1) starts from the KD cross-entropy of one softmax row
with target class t and splits it with S_i = (1 - S_t) Ŝ_i for i != t (Ŝ: the non-target distribution,
normalised to sum to 1)::

    -sum_i T_i log S_i = -T_t log S_t - (1 - T_t) log(1 - S_t) - (1 - T_t) sum_{i != t} T̂_i log Ŝ_i

and keeps the target term and the non-target term without its factor (1 - T_t), which vanishes for a
confident teacher, at a temperature lambda (``temp``) and a weight gamma::

    L_NKD = -T_t log S_t - gamma * lambda^2 * sum_{i != t} T̂^lambda_i log Ŝ^lambda_i        (NKD, Eq. 8)

A sigmoid head does not predict a softmax row: each of its C classes is an independent Bernoulli,
p_c = sigmoid(z^S_c) for the student, q_c = sigmoid(z^T_c) for the teacher, and its loss (focal, QFL) runs
over every anchor, the negatives included, divided by the number of positives. A softmax over its logits
(``NKDLoss(probability='softmax')``) gives a target probability the head never learns. Here every quantity
of Eq. 8 is the head's own:

- the target term of a positive anchor (label t in [0, C)) is the target class's Bernoulli probability::

      L_target = -q_t log p_t

- the non-target distribution is the non-target classes' sigmoid probabilities normalised to sum to 1, at
  temperature lambda as a softmax is (a normalised distribution Ŝ at temperature lambda is
  Ŝ^(1/lambda) / sum Ŝ^(1/lambda)), i.e. ``softmax(log p_i / lambda)`` over i != t::

      p̂^lambda_i = p_i^(1/lambda) / sum_{j != t} p_j^(1/lambda),    q̂^lambda likewise
      L_non-target = -gamma * lambda^2 * sum_{i != t} q̂^lambda_i log p̂^lambda_i

  Where every p_i is small (log sigmoid(z) ≈ z) this is the softmax form's non-target term on the same logits;
  the two forms differ in the target term and in the negatives.

- a negative anchor (label C, mmdet's background index) has no target class: its "target" is background,
  whose probability under the head's model is T_bg = prod_c (1 - q_c). All C classes are non-targets, and
  its term is the normalised non-target term over all C classes with ``negatives='teacher_mass'``::

      L_negative = -gamma * lambda^2 * (1 - prod_c (1 - q_c)) * sum_c q̂^lambda_c log p̂^lambda_c

  The factor (1 - T_bg), the teacher's probability that the anchor holds an object, is the one NKD drops for
  a positive. It is kept here (a departure from Eq. 8, and the only weighting not in the paper): without it
  each of the thousands of background anchors per image would weigh as much as a positive, against a head
  loss whose easy negatives count almost nothing (focal modulation), and the sum divided by the positives
  would be orders of magnitude above the focal loss. BCKD (Yang et al., ICCV 2023, binary classification KD
  for detectors) keeps negatives for the same reason, modulated by |q - p|^beta. ``negatives='skip'`` drops
  negatives as the softmax form does. The normalised term is invariant to scaling all p_c together, so it
  shapes which classes the student confuses at an anchor and leaves the background level to the head's loss.

Rows whose label is ``ignore_index`` are skipped. mmdet gives ignored anchors (label weight 0, e.g. RetinaNet's
IoU between 0.4 and 0.5) the background label too; they count as negatives here.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

NEGATIVES = ('skip', 'teacher_mass')


def normalised_cross_entropy(log_p: Tensor, log_q: Tensor, temp: float) -> Tensor:
    """sum_i q̂_i log p̂_i of each row: (M, K) log-probabilities → (M,), with p̂ = softmax(log p / temp)."""
    if log_p.shape[1] == 0:
        return log_p.new_zeros(log_p.shape[0])
    return (F.softmax(log_q / temp, dim=1) * F.log_softmax(log_p / temp, dim=1)).sum(dim=1)


def sigmoid_nkd_rows(logits_S: Tensor, logits_T: Tensor, labels: Tensor, temp: float, gamma: float,
                     negatives: str = 'teacher_mass') -> Tensor:
    """The loss of each row (no reduction): (M, C), (M, C), (M,) labels in [0, C] → (M,).

    Label C marks a negative; its row is 0 with ``negatives='skip'``. The teacher's logits must be detached
    by the caller (they get no gradient through the weights here either way).
    """
    if negatives not in NEGATIVES:
        raise ValueError(f'negatives must be one of {NEGATIVES}, got {negatives!r}.')
    num_rows, num_classes = logits_S.shape
    log_p, log_q = F.logsigmoid(logits_S), F.logsigmoid(logits_T)
    loss = logits_S.new_zeros(num_rows)
    pos = labels < num_classes
    if bool(pos.any()):
        target = labels[pos][:, None]
        lp, lq = log_p[pos], log_q[pos]
        term_target = -lq.gather(1, target)[:, 0].exp() * lp.gather(1, target)[:, 0]
        non_target = torch.ones_like(lp, dtype=torch.bool).scatter_(1, target, False)
        k = num_classes - 1
        ce = normalised_cross_entropy(lp[non_target].reshape(-1, k), lq[non_target].reshape(-1, k), temp)
        loss[pos] = term_target - gamma * temp**2 * ce
    neg = ~pos
    if negatives == 'teacher_mass' and bool(neg.any()):
        # 1 - prod_c (1 - q_c), with log(1 - q_c) = logsigmoid(-z^T_c)
        mass = -torch.expm1(F.logsigmoid(-logits_T[neg]).sum(dim=1))
        loss[neg] = -gamma * temp**2 * mass * normalised_cross_entropy(log_p[neg], log_q[neg], temp)
    return loss
