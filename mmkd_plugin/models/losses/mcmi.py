"""MCMI: fine-tune a teacher to maximise its conditional mutual information, per sample, pixel or anchor.

Ye et al., "Bayes Conditional Distribution Estimation for Knowledge Distillation Based on Conditional
Mutual Information", ICLR 2024 (arXiv 2401.08732); official code iclr2024mcmi/ICLRMCMI
(``helper/loops.py::train_fine_tune``, ``centroid.py``, ``MTCMI.py``).

With P_x = softmax(z_x) and the class centroids Q_y = E[P_X | Y = y] (computed once before fine-tuning and
held fixed, as the official code does), the conditional mutual information of the teacher is

    I(X; Y_hat | Y) = sum_y P(y) E_{X|y}[ KL(P_X || Q_y) ]
    estimate:  I_hat = (1/N) sum_i KL(P_i || Q_{y_i}) = -(1/N) sum_i H(P_i) + sum_y (N_y / N) H(Q_y)

(the second form holds because Q_y is the mean of the P_i of class y), and the fine-tuning objective is
CE - lambda * I_hat: the task loss plus ``MCMILoss``, which is -lambda * mean_i KL(P_i || Q_{y_i}).
"""
import logging
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.logging import print_log
from mmrazor.registry import MODELS
from torch import Tensor, nn

from .logit_rows import logits_to_rows, valid_rows, zero_loss

Levels = Union[Tensor, Sequence[Tensor]]


def cmi_kl_rows(logits: Tensor, labels: Tensor, centroids: Tensor) -> Tensor:
    """KL(P_i || Q_{y_i}) of each row: (M, C) logits, (M,) labels, (C, C) centroids -> (M,), fp32."""
    log_p = F.log_softmax(logits.float(), dim=1)
    log_q = centroids.float().clamp_min(torch.finfo(torch.float32).tiny).log()[labels]
    return (log_p.exp() * (log_p - log_q)).sum(dim=1)


def stack_rows(preds: Levels, labels: Levels, num_classes: int,
               ignore_index: int) -> Tuple[Tensor, Tensor]:
    """The valid (M, C) logit rows and (M,) labels of one level or of several (an FPN's levels).

    Layouts: those of ``logit_rows.logits_to_rows``; a list/tuple of levels is paired level by level.

    Raises:
        ValueError: logits whose class dimension is not ``num_classes``, or lists of different lengths.
    """
    if isinstance(preds, Tensor):
        preds, labels = [preds], [labels]
    if isinstance(labels, Tensor) or len(preds) != len(labels):
        raise ValueError(f'MCMILoss got {len(preds)} logit level(s) but labels {type(labels).__name__} '
                         f'of another length; map the logits and labels of the same levels.')
    rows, row_labels = [], []
    for level_preds, level_labels in zip(preds, labels):
        level_rows, level_row_labels = logits_to_rows(level_preds, level_labels)
        if level_rows.shape[1] != num_classes:
            raise ValueError(f'MCMILoss(num_classes={num_classes}) got logits with {level_rows.shape[1]} '
                             f'classes per row (shape {tuple(level_preds.shape)}); set num_classes to the '
                             "head's class count (a two-stage RoI head: its num_classes + 1, background).")
        keep = valid_rows(level_row_labels, num_classes, ignore_index)
        rows.append(level_rows[keep])
        row_labels.append(level_row_labels[keep])
    return torch.cat(rows), torch.cat(row_labels)


class CentroidStatistics:
    """Running sums for the centroids Q_y and the CMI estimate, in float64.

    ``sums[y]``: the sum of P_i over the rows of class y; ``counts[y]``: their number; ``neg_entropy``:
    the sum of sum_c P_ic log P_ic over all rows.
    """

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.sums = torch.zeros(num_classes, num_classes, dtype=torch.float64, device=device)
        self.counts = torch.zeros(num_classes, dtype=torch.float64, device=device)
        self.neg_entropy = torch.zeros((), dtype=torch.float64, device=device)

    def add(self, logits: Tensor, labels: Tensor) -> None:
        log_p = F.log_softmax(logits.detach().double(), dim=1)
        probs = log_p.exp()
        self.sums.index_add_(0, labels, probs)
        self.counts += torch.bincount(labels, minlength=self.counts.numel()).double()
        self.neg_entropy += (probs * log_p).sum()

    def all_reduce(self) -> None:
        """Sum the statistics over the ranks (a no-op without a process group)."""
        for tensor in (self.sums, self.counts, self.neg_entropy):
            dist.all_reduce(tensor, op='sum')

    def centroids(self) -> Tensor:
        """(C, C): row y is Q_y, the mean softmax of class y (uniform for a class never seen)."""
        num_classes = self.counts.numel()
        uniform = torch.full_like(self.sums, 1.0 / num_classes)
        return torch.where(self.counts[:, None] > 0, self.sums / self.counts.clamp_min(1)[:, None], uniform)

    def cmi(self) -> float:
        """I_hat = -(1/N) sum_i H(P_i) + sum_y (N_y / N) H(Q_y), in nats."""
        total = self.counts.sum()
        if total == 0:
            raise ValueError('No labelled row was seen, so the CMI is undefined: check that the labels reach '
                             'the loss (ignore_index, num_classes).')
        q = self.centroids()
        entropy_q = -(q * q.clamp_min(torch.finfo(torch.float64).tiny).log()).sum(dim=1)
        return float(self.neg_entropy / total + (self.counts / total * entropy_q).sum())


@MODELS.register_module()
class MCMILoss(nn.Module):
    """The MCMI term of teacher fine-tuning (Ye et al., ICLR 2024): ``-loss_weight * mean_i KL(P_i || Q_{y_i})``.

    Added to the model's task loss it gives the paper's objective CE - lambda * CMI (the official code's
    ``param[0] * CE + param[1] * KL`` with ``param[1] = -lambda``). The loss is negative and decreases as
    the predictions of a class spread away from the class centroid. Rows (``logit_rows``): per pixel for
    segmentation logits (labels resized by nearest neighbour, ``ignore_index`` skipped), per anchor for an
    anchor head (positives only: a sigmoid head's negatives, label C, have no class; softmax over the C
    class logits), per sample for (M, C) logits. A list of levels (an FPN) shares one centroid table.

    The centroids Q (C x C) are buffers: ``MCMICentroidHook`` fills them in one pass over the training set
    before fine-tuning (``start_collecting``/``finish_collecting``: during the pass ``forward`` only
    accumulates and returns 0), they stay fixed afterwards and are saved in checkpoints, so a resumed run
    does not recompute them. Rows whose class was never seen in that pass are left out of the loss.

    Args:
        num_classes: C.
        loss_weight: lambda (the paper's runs: 0.1, 0.15, 0.2, 0.25; the few-shot logs use 0.15).
        ignore_index: the label of pixels to skip.

    Raises:
        RuntimeError: ``forward`` in training before the centroids were computed (no hook).
    """

    def __init__(self, num_classes: int, loss_weight: float = 0.15, ignore_index: int = 255) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}.')
        self.num_classes = num_classes
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.register_buffer('centroids', torch.full((num_classes, num_classes), 1.0 / num_classes))
        self.register_buffer('class_counts', torch.zeros(num_classes))
        self.register_buffer('centroids_ready', torch.tensor(False))
        self._statistics: Optional[CentroidStatistics] = None

    @property
    def collecting(self) -> bool:
        return self._statistics is not None

    def start_collecting(self) -> None:
        """Start a statistics pass: ``forward`` accumulates rows and returns 0 until ``finish_collecting``."""
        self._statistics = CentroidStatistics(self.num_classes, self.centroids.device)

    def finish_collecting(self, store: bool = True) -> CentroidStatistics:
        """End the pass (summing over ranks); with ``store``, the centroids become this pass's."""
        if self._statistics is None:
            raise RuntimeError('finish_collecting() without start_collecting().')
        statistics, self._statistics = self._statistics, None
        statistics.all_reduce()
        if store:
            self.centroids.copy_(statistics.centroids().to(self.centroids.dtype))
            self.class_counts.copy_(statistics.counts.to(self.class_counts.dtype))
            self.centroids_ready.fill_(True)
            unseen = (statistics.counts == 0).nonzero().flatten().tolist()
            if unseen:
                listed = ', '.join(map(str, unseen[:10]))
                if len(unseen) > 10:
                    listed += f', ... ({len(unseen)} in all)'
                print_log(f'MCMI: classes {listed} have no labelled row in the training set; their rows are '
                          'left out of the MCMI term.', logger='current', level=logging.WARNING)
        return statistics

    def forward(self, preds: Levels, gt_labels: Levels) -> Tensor:
        """-lambda * mean KL(P || Q_y) over the valid rows (0, keeping the graph, when there is none)."""
        rows, labels = stack_rows(preds, gt_labels, self.num_classes, self.ignore_index)
        first = preds if isinstance(preds, Tensor) else preds[0]
        if self.collecting:
            self._statistics.add(rows, labels)
            return zero_loss(first)
        if not bool(self.centroids_ready):
            if not self.training:
                return zero_loss(first)
            raise RuntimeError('MCMILoss: the class centroids were never computed. Add '
                               "mcmi_centroids=dict(type='MCMICentroidHook') to default_hooks: it computes them in "
                               'one pass over the training set before fine-tuning.')
        seen = self.class_counts[labels] > 0
        rows, labels = rows[seen], labels[seen]
        if rows.shape[0] == 0:
            return zero_loss(first)
        with torch.autocast(rows.device.type, enabled=False):
            kl = cmi_kl_rows(rows, labels, self.centroids)
        return -self.loss_weight * kl.mean()
