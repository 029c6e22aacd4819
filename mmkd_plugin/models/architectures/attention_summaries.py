"""The two summaries ACAM-KD's masks read from STCA-FF, without the fused map or the L x L matrix.

ACAM-KD (Lan & Tian, ICCV 2025, arXiv 2503.06307) uses the fused feature F_fused = A V (A = softmax(Q K^T
s), one row per teacher position) only through two linear maps (``ASCMasks``): its spatial mean
v = mean_i (A V)_i, for the channel masks, and its projection on the M spatial selection units,
(A V) m_s^T, for the spatial masks. Both can be computed without F_fused:

    v = (1/L_q) (1^T A) V          (the column sums of A, one per student position, then one matvec)
    (A V) m_s^T = A (V m_s^T)      (attention over an M-wide value instead of a C-wide one)

so the attention runs with a value of width M (6) instead of C (256), and its gradient needs no
C-wide product either; SDPA's CPU flash kernel on the full attention also needs q/k zero-padded to the
value's width (the timings of both, by ``tools/benchmarks/acam_kd_memory.py``: docs/methods/acam_kd.md).
The rows of A are computed a chunk of queries at a time and recomputed in the backward pass, in buffers of
at most 256 rows and ``max_chunk_elements`` scores each (two in the forward pass, three in the backward; at
least one row): the L x L matrix is never stored.

Gradient (per query row i, p_i = softmax(s K q_i), outputs c = sum_i p_i and y_i = R^T p_i with
R = V m_s^T): dp_i = dc + R dy_i; ds_i = p_i * (dp_i - p_i . dp_i) with p_i . dp_i = p_i . dc + y_i . dy_i;
dq_i = s K^T ds_i; dK = s sum_i ds_i q_i^T; dR = sum_i p_i dy_i^T.
"""
from typing import Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 22  # scores per buffer: 16 MB in float32
MAX_CHUNK_ROWS = 256  # query rows per chunk: bounds the buffers (docs/methods/acam_kd.md, "Memory")


def attention_summaries(query: Tensor, key: Tensor, value: Tensor, readout: Tensor, scale: float,
                        max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS) -> Tuple[Tensor, Tensor]:
    """The query-mean and the readout projection of ``softmax(query @ key^T * scale) @ value``.

    Computed in float32 (float64 when ``value`` is float64) whatever the autocast state; no double backward.

    Args:
        query: (N, L_q, E_qk) tokens.
        key: (N, L_kv, E_qk) tokens.
        value: (N, L_kv, E_v) tokens.
        readout: (M, E_v) rows to project the attention output on.
        scale: the score scale (``1/sqrt(E_qk)`` for the usual attention).
        max_chunk_elements: the scores of one chunk (N x rows x L_kv, 1 <= rows <= 256) are at most
            this many; the pass holds two or three such buffers.

    Returns:
        ``(pooled, projected)``: (N, E_v), the attention output averaged over the queries, and
        (N, L_q, M), the attention output times ``readout^T``.
    """
    if max_chunk_elements < 1:
        raise ValueError(f'max_chunk_elements must be positive, got {max_chunk_elements}.')
    dtype = torch.promote_types(value.dtype, torch.float32)
    with torch.autocast(value.device.type, enabled=False):
        value = value.to(dtype)
        readout_values = torch.matmul(value, readout.to(dtype).t())  # (N, L_kv, M)
        rows = max(1, min(MAX_CHUNK_ROWS, query.shape[1],
                          max_chunk_elements // max(1, query.shape[0] * key.shape[1])))
        column_sums, projected = _ChunkedAttentionSummaries.apply(
            query.to(dtype), key.to(dtype), readout_values, scale, rows)
        pooled = torch.bmm((column_sums / query.shape[1]).unsqueeze(1), value).squeeze(1)
    return pooled, projected


def _attention_rows(query: Tensor, key: Tensor, scale: float, scores: Tensor, probs: Tensor) -> Tensor:
    """softmax(query key^T scale) for a chunk of query rows, written into ``probs`` (N, rows, L_kv);
    ``scores`` is scratch of the same shape."""
    torch.bmm(query, key.transpose(1, 2), out=scores).mul_(scale)
    return torch.softmax(scores, -1, out=probs)


class _Scratch:
    """(N, rows, L_kv) buffers allocated once per pass and reused by every chunk.

    Reusing the buffers keeps the peak resident memory steady from run to run (fresh tensors per chunk
    let glibc's heap grow; docs/methods/acam_kd.md).
    """

    def __init__(self, count: int, like: Tensor, n: int, rows: int, length: int) -> None:
        self.buffers = [like.new_empty(n * rows * length) for _ in range(count)]
        self.n, self.length = n, length

    def views(self, rows: int):
        """The buffers as contiguous (N, rows, L_kv) tensors (fewer rows for the last chunk)."""
        return [b[:self.n * rows * self.length].view(self.n, rows, self.length) for b in self.buffers]


def _chunks(length: int, rows: int):
    """(start, stop) of each chunk of ``rows`` query rows."""
    return [(start, min(start + rows, length)) for start in range(0, length, rows)]


class _ChunkedAttentionSummaries(torch.autograd.Function):
    """(column sums of A, A R) for A = softmax(Q K^T s), a chunk of rows of A at a time (see the module)."""

    @staticmethod
    def forward(ctx, query: Tensor, key: Tensor, readout_values: Tensor, scale: float,
                rows: int) -> Tuple[Tensor, Tensor]:
        n, length = query.shape[0], key.shape[1]
        scratch = _Scratch(2, query, n, rows, length)
        column_sums = query.new_zeros(n, length)
        projected = query.new_empty(n, query.shape[1], readout_values.shape[-1])
        for start, stop in _chunks(query.shape[1], rows):
            probs = _attention_rows(query[:, start:stop], key, scale, *scratch.views(stop - start))
            column_sums += probs.sum(dim=1)
            projected[:, start:stop] = torch.bmm(probs, readout_values)
        ctx.save_for_backward(query, key, readout_values, projected)
        ctx.scale, ctx.rows = scale, rows
        return column_sums, projected

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_sums: Tensor, grad_projected: Tensor):
        query, key, readout_values, projected = ctx.saved_tensors
        scale, rows = ctx.scale, ctx.rows
        n, length = query.shape[0], key.shape[1]
        scratch = _Scratch(3, query, n, rows, length)
        grad_sums, grad_projected = grad_sums.contiguous(), grad_projected.contiguous()
        grad_query = torch.empty_like(query)
        grad_key = torch.zeros_like(key)
        grad_readout = torch.zeros_like(readout_values)
        projected_dot = (grad_projected * projected).sum(dim=-1)  # y_i . dy_i, (N, L_q)
        for start, stop in _chunks(query.shape[1], rows):
            scores, probs, grad_scores = scratch.views(stop - start)
            chunk_query, chunk_grad = query[:, start:stop], grad_projected[:, start:stop]
            probs = _attention_rows(chunk_query, key, scale, scores, probs)
            grad_readout += torch.bmm(probs.transpose(1, 2), chunk_grad)
            row_dot = projected_dot[:, start:stop] + torch.bmm(probs, grad_sums.unsqueeze(-1)).squeeze(-1)
            # dp - p.dp = (dc - p.dp) + dy R^T; times p and the scale: ds
            torch.sub(grad_sums.unsqueeze(1), row_dot.unsqueeze(-1), out=grad_scores)
            grad_scores.baddbmm_(chunk_grad, readout_values.transpose(1, 2)).mul_(probs).mul_(scale)
            grad_query[:, start:stop] = torch.bmm(grad_scores, key)
            grad_key += torch.bmm(grad_scores.transpose(1, 2), chunk_query)
        return grad_query, grad_key, grad_readout, None, None
