"""ACAM-KD's mask generator: STCA-FF (cross-attention fusion) and ASCM (selection units).

Lan & Tian, "ACAM-KD: Adaptive and Cooperative Attention Masking for Knowledge Distillation",
ICCV 2025 (arXiv 2503.06307). No official code exists; the equations below are those of the
specification in ``docs/methods/acam_kd.md`` (relayed by third-party notes of the paper).

Memory: the HW x HW attention matrix is never materialised. ``F.scaled_dot_product_attention`` only
takes its fused kernel on CPU when query, key and value are 4-D, have the same last-dim width and a
contiguous last dimension; with C_q = C/2 for the query/key and C for the value it silently falls back
to the math path, which stores the full HW x HW matrix (docs/methods/acam_kd.md: its cost). So the
query and key are zero-padded to the value width: the padded dimensions add 0 to every score, and the
scale is passed explicitly as ``1/sqrt(C_q)``, so the result is exactly the unpadded attention.

The masks read F_fused only through its spatial mean and its projection on the spatial selection units,
so ``STCAFusion.summaries`` (what ``ACAMKDLoss`` calls) can compute those two directly, with a value M
wide instead of C and no padding (``attention_summaries``); it does on CPU for wide features, where that
is faster (timings: docs/methods/acam_kd.md, "Memory").
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .attention_summaries import attention_summaries

CHANNEL_MASK_MODES = ('literal', 'elementwise')
FUSION_KERNELS = ('auto', 'chunked', 'sdpa')
# 'auto' takes the chunked kernel on CPU when C >= 8 M (FPN levels: C = 256, M = 6), where it saves the C-wide value;
# SDPA for narrow values such as the Cityscapes logits (C = M = 19). The measurements: docs/methods/acam_kd.md.
CHUNKED_MIN_WIDTH_RATIO = 8


KERNEL_ALIGNMENT = 8  # CUDA's fused kernels want head widths divisible by 8 (4 for fp32 on sm80+)


def _round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


def attention_widths(qk_width: int, v_width: int, device_type: str) -> Tuple[int, int]:
    """The (q/k, v) widths the inputs are zero-padded to, so that a fused SDPA kernel accepts them.

    - CPU: the flash kernel needs q, k and v of one width: q/k are padded to the value's width.
    - CUDA: the memory-efficient kernel takes q/k and v of different widths, each a multiple of 8
      (flash needs them equal); 19 Cityscapes logits would otherwise leave only the math path, which
      stores the L x L matrix. So each is rounded up to a multiple of 8, and q/k are not padded
      further (C_q = 128 and C = 256 for an FPN level are taken as they are).
    """
    if device_type == 'cuda':
        return _round_up(qk_width, KERNEL_ALIGNMENT), _round_up(v_width, KERNEL_ALIGNMENT)
    width = max(qk_width, v_width)
    return width, width


def fused_cross_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          scale: float) -> torch.Tensor:
    """``softmax(query @ key^T * scale) @ value`` for (N, L, E) tokens, without the L x L matrix.

    Zero padding of q and k adds 0 to every score and zero padding of v adds output columns that
    are cut off, so the result is exactly the unpadded attention (``attention_widths`` says how much).

    Args:
        query: (N, L_q, E_qk) tokens.
        key: (N, L_kv, E_qk) tokens.
        value: (N, L_kv, E_v) tokens.
        scale: the score scale (``1/sqrt(E_qk)`` for the usual attention).

    Returns:
        (N, L_q, E_v) tokens.
    """
    qk_width, v_width = attention_widths(query.shape[-1], value.shape[-1], value.device.type)
    dtype = value.dtype

    def prepare(x: torch.Tensor, width: int) -> torch.Tensor:
        # A head dimension makes the input 4-D (3-D inputs take the math path); contiguous() gives the
        # fused kernels a unit-stride last dimension.
        x = F.pad(x.to(dtype), (0, width - x.shape[-1]))
        return x.unsqueeze(1).contiguous()

    out = F.scaled_dot_product_attention(prepare(query, qk_width), prepare(key, qk_width),
                                         prepare(value, v_width), scale=scale)
    return _ContiguousGrad.apply(out).squeeze(1)[..., :value.shape[-1]]


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous.

    The CPU flash kernel's backward is several times slower when the output gradient is strided (it is,
    after the (N, HW, C) -> (N, C, H, W) transpose that follows; docs/methods/acam_kd.md).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


class STCAFusion(nn.Module):
    """Student-Teacher Cross-Attention Feature Fusion (STCA-FF) of ACAM-KD (ICCV 2025).

    One head, query from the teacher, key and value from the (aligned) student:

        Q = W_q F^T,  K = W_k F^S,  V = W_v F^S,    W_q, W_k in R^{C_q x C},  W_v in R^{C x C}
        F_fused = V softmax(Q^T K / sqrt(C_q))^T     (softmax over the student positions)

    so each teacher position gathers the student content it attends to. No bias, output projection,
    residual or normalisation: the notes of the paper state none.

    Args:
        channels: C, the channel count of both inputs (the student already aligned to the teacher).
        query_channels: C_q; default ``max(1, C // 2)`` (the paper's C/2, rounded down for odd C such
            as Cityscapes' 19 logits).
        kv_max_tokens: if set, a student map with more positions is average-pooled (stride s, the
            smallest with HW / s^2 <= kv_max_tokens) before K and V, so a level costs
            O(HW x kv_max_tokens) instead of O(HW^2); queries (and the fused map) keep the teacher's full
            resolution. For P2 of Faster R-CNN at 800x1333 (66,800 positions). Ours, not the paper's.
        kernel: how ``summaries`` computes what the masks read: ``'sdpa'`` (the fused map through SDPA's
            fused kernels, then its mean and projection), ``'chunked'`` (``attention_summaries``: the
            two summaries directly, a chunk of queries at a time, the value M wide instead of C) or
            ``'auto'`` (default: chunked on CPU when C >= 8 M, e.g. FPN features, where it is faster than
            SDPA's CPU flash kernel; SDPA otherwise, e.g. for 19 logits and 19 masks,
            and on other devices, where the fused kernels were written for this). Equal results either
            way, up to float rounding.
    """

    def __init__(self, channels: int, query_channels: Optional[int] = None,
                 kv_max_tokens: Optional[int] = None, kernel: str = 'auto') -> None:
        super().__init__()
        query_channels = query_channels or max(1, channels // 2)
        if not 0 < query_channels <= channels:
            raise ValueError(f'query_channels must be in [1, {channels}] (the feature channels), '
                             f'got {query_channels}; leave it None for C/2.')
        if kv_max_tokens is not None and kv_max_tokens < 1:
            raise ValueError(f'kv_max_tokens must be a positive token count or None, got {kv_max_tokens}.')
        if kernel not in FUSION_KERNELS:
            raise ValueError(f'kernel (ACAMKDLoss attention_kernel) must be one of {FUSION_KERNELS}, '
                             f'got {kernel!r}.')
        self.kernel = kernel
        self.channels = channels
        self.query_channels = query_channels
        self.kv_max_tokens = kv_max_tokens
        self.query = nn.Linear(channels, query_channels, bias=False)
        self.key = nn.Linear(channels, query_channels, bias=False)
        self.value = nn.Linear(channels, channels, bias=False)

    def forward(self, teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
        """Fuse (N, C, H, W) teacher and student features into an (N, C, H, W) feature."""
        n, c, h, w = teacher.shape
        fused = fused_cross_attention(*self._tokens(teacher, student), scale=self.scale)
        return fused.transpose(1, 2).reshape(n, c, h, w)

    def summaries(self, teacher: torch.Tensor, student: torch.Tensor,
                  readout: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """What ASCM reads of F_fused: its spatial mean and its projection on ``readout``'s rows.

        Args:
            teacher, student: (N, C, H, W) features (the student aligned to the teacher).
            readout: (M, C), the spatial selection units m_s.

        Returns:
            ``(pooled, projected)``: (N, C) = spatial mean of F_fused, (N, M, HW) = m_s F_fused; float32
            from the chunked kernel, the autocast dtype from SDPA.
        """
        kernel = self.kernel
        if kernel == 'auto':
            wide_value = readout.shape[1] >= CHUNKED_MIN_WIDTH_RATIO * readout.shape[0]
            kernel = 'chunked' if teacher.device.type == 'cpu' and wide_value else 'sdpa'
        if kernel == 'chunked':
            pooled, projected = attention_summaries(*self._tokens(teacher, student), readout, self.scale)
            return pooled, projected.transpose(1, 2).contiguous()
        fused = self(teacher, student).flatten(2)  # (N, C, HW)
        return fused.mean(dim=2), torch.matmul(readout.to(fused.dtype), fused)

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.query_channels)

    def _tokens(self, teacher: torch.Tensor,
                student: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, HW, C_q) queries, (N, L_kv, C_q) keys and (N, L_kv, C) values."""
        stride = self.kv_stride(*teacher.shape[2:])
        if stride > 1:
            student = F.avg_pool2d(student, stride, stride, ceil_mode=True)
        t_tokens = teacher.flatten(2).transpose(1, 2)  # (N, HW, C)
        s_tokens = student.flatten(2).transpose(1, 2)
        return self.query(t_tokens), self.key(s_tokens), self.value(s_tokens)

    def kv_stride(self, h: int, w: int) -> int:
        """The pooling stride of the key/value map (1: no pooling)."""
        if self.kv_max_tokens is None or h * w <= self.kv_max_tokens:
            return 1
        return math.ceil(math.sqrt(h * w / self.kv_max_tokens))


class ASCMasks(nn.Module):
    """Adaptive Spatial-Channel Masking (ASCM) of ACAM-KD (ICCV 2025): M channel and M spatial masks.

    With v = spatial mean of F_fused (in R^C) and z = F_fused flattened (in R^{C x HW}):

        channel masks  M^c = sigmoid(m_c . v)  in (0, 1)^{M x C}
        spatial masks  M^s = sigmoid(m_s z)    in (0, 1)^{M x HW},   m_s in R^{M x C}

    ``channel_mask='literal'`` reads m_c in R^{M x 1} as the paper's notes write it (an outer product:
    the M channel masks are v through M sigmoid slopes, hence monotone copies of one another);
    ``'elementwise'`` makes m_c in R^{M x C}, multiplied element-wise with v (open choice E3). The spatial
    masks are MasKD's receptive-token masks applied to the fused feature. The selection units start
    from N(0, init_std^2), as MasKD's tokens do, so every mask starts near 0.5.

    Args:
        channels: C.
        num_masks: M (6 for detection, 19 = the class count for Cityscapes).
        channel_mask: ``'literal'`` (default) or ``'elementwise'``.
        init_std: standard deviation of the selection units' initialisation.
    """

    def __init__(self, channels: int, num_masks: int, channel_mask: str = 'literal',
                 init_std: float = 0.01) -> None:
        super().__init__()
        if channel_mask not in CHANNEL_MASK_MODES:
            raise ValueError(f'channel_mask must be one of {CHANNEL_MASK_MODES}, got {channel_mask!r}.')
        if num_masks < 1:
            raise ValueError(f'num_masks must be >= 1, got {num_masks}.')
        self.channel_mask = channel_mask
        unit_width = 1 if channel_mask == 'literal' else channels
        self.channel_units = nn.Parameter(torch.empty(num_masks, unit_width).normal_(0, init_std))
        self.spatial_units = nn.Parameter(torch.empty(num_masks, channels).normal_(0, init_std))

    def forward(self, pooled: torch.Tensor, projected: torch.Tensor,
                size: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Masks from what they read of F_fused (``STCAFusion.summaries``).

        Args:
            pooled: (N, C), v = the spatial mean of F_fused.
            projected: (N, M, HW), m_s z = F_fused projected on the spatial units.
            size: (H, W).

        Returns:
            ``(channel_masks, spatial_masks)``: (N, M, C) and (N, M, H, W), float32, in (0, 1).
        """
        channel_logits = self.channel_units.float()[None] * pooled.float()[:, None, :]  # (N, M, C), fp32: tiny
        # The sigmoid runs in float32 so that bf16/fp16 logits do not round the masks to 0 or 1.
        return (channel_logits.sigmoid(),
                projected.float().sigmoid().view(projected.shape[0], -1, *size))
