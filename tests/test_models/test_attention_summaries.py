"""ACAM-KD's chunked attention summaries (the CPU path of STCA-FF -> ASCM) against the equations."""
import math

import pytest
import torch

from mmkd_plugin.models.architectures.attention_summaries import attention_summaries
from mmkd_plugin.models.losses import ACAMKDLoss


def naive_summaries(query, key, value, readout, scale):
    """mean_i (A V)_i and (A V) readout^T with the explicit L_q x L_kv matrix A."""
    fused = torch.softmax(query @ key.transpose(1, 2) * scale, dim=-1) @ value  # (N, L_q, E_v)
    return fused.mean(1), fused @ readout.t()


def inputs(dtype=torch.float64, n=2, l_q=11, l_kv=7, e_qk=3, e_v=5, m=4):
    torch.manual_seed(0)
    return [torch.randn(*shape, dtype=dtype, requires_grad=True)
            for shape in ((n, l_q, e_qk), (n, l_kv, e_qk), (n, l_kv, e_v), (m, e_v))]


@pytest.mark.parametrize('max_chunk_elements', [1, 2 * 7 * 3, 10 ** 6])  # 1 row, 3 rows, one chunk
def test_values_and_gradients_match_the_explicit_attention(max_chunk_elements):
    query, key, value, readout = inputs()
    scale = 1 / math.sqrt(3)
    got = attention_summaries(query, key, value, readout, scale, max_chunk_elements)
    expected = naive_summaries(query, key, value, readout, scale)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    # Weigh both outputs so that every term of the hand-written backward is exercised.
    weights = [torch.randn_like(e) for e in expected]
    grads = torch.autograd.grad(sum((g * w).sum() for g, w in zip(got, weights)), (query, key, value, readout))
    expected_grads = torch.autograd.grad(sum((e * w).sum() for e, w in zip(expected, weights)),
                                         (query, key, value, readout))
    for g, e in zip(grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda *x: attention_summaries(*x, scale, max_chunk_elements), (query, key, value, readout))


@pytest.mark.parametrize('used', ['pooled', 'projected'])
def test_one_output_alone_and_a_strided_gradient(used):
    """The backward gets a zero gradient for the unused output, and a non-contiguous one for the other."""
    query, key, value, readout = inputs(l_q=13, l_kv=5)
    pooled, projected = attention_summaries(query, key, value, readout, 0.7, max_chunk_elements=2 * 5 * 4)
    e_pooled, e_projected = naive_summaries(query, key, value, readout, 0.7)
    got, expected = (pooled, e_pooled) if used == 'pooled' else (projected.transpose(1, 2), e_projected.transpose(1, 2))
    weight = torch.randn(expected.shape[::-1], dtype=expected.dtype).transpose(0, -1)  # strided
    tensors = (query, key, value) if used == 'pooled' else (query, key, value, readout)
    grads = torch.autograd.grad((got * weight).sum(), tensors)
    expected_grads = torch.autograd.grad((expected * weight).sum(), tensors)
    for g, e in zip(grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_pooled_keys_and_values_give_the_sdpa_gradients():
    torch.manual_seed(0)
    loss = ACAMKDLoss(8, 8, num_masks=3, kv_max_tokens=12).double()
    s = torch.randn(2, 8, 8, 10, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, 8, 8, 10, dtype=torch.float64)
    grads = {}
    for kernel in ('chunked', 'sdpa'):
        loss.fusion.kernel = kernel
        pooled, projected = loss.fusion.summaries(t, s, loss.masks.spatial_units)
        grads[kernel] = torch.autograd.grad(pooled.sin().sum() + projected.cos().sum(),
                                            [s] + list(loss.fusion.parameters()) + [loss.masks.spatial_units])
    for a, b in zip(grads['chunked'], grads['sdpa']):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_chunked_and_sdpa_kernels_give_the_same_loss_and_gradients():
    torch.manual_seed(0)
    loss = ACAMKDLoss(8, 16, num_masks=4, channel_mask='elementwise')
    s = torch.randn(2, 8, 12, 10, requires_grad=True)
    t = torch.randn(2, 16, 12, 10)
    results = {}
    for kernel in ('chunked', 'sdpa'):
        loss.fusion.kernel = kernel
        loss.zero_grad()
        s.grad = None
        value = loss(s, t)
        value.backward()
        results[kernel] = [value.detach(), s.grad.clone()] + [p.grad.clone() for p in loss.parameters()]
    for a, b in zip(results['chunked'], results['sdpa']):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)
    assert ACAMKDLoss(8, 8).fusion.kernel == 'auto'
    assert ACAMKDLoss(8, 8, attention_kernel='sdpa').fusion.kernel == 'sdpa'


def test_the_cpu_default_never_stores_the_attention_matrix():
    """'auto' on CPU with C >= 8 M runs the chunked path: no SDPA, no op sees a tensor of HW x HW / 8."""
    loss = ACAMKDLoss(32, 32, num_masks=4)
    s = torch.randn(1, 32, 48, 64, requires_grad=True)
    t = torch.randn(1, 32, 48, 64)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        loss(s, t).backward()
    assert not any('scaled_dot_product' in e.key for e in prof.key_averages())
    tokens = 48 * 64
    biggest = max(math.prod(shape) for e in prof.events() for shape in (e.input_shapes or []) if shape)
    assert biggest <= 256 * tokens < tokens * tokens // 8


@pytest.mark.parametrize('channels, num_masks, expected', [(256, 6, 'chunked'), (32, 4, 'chunked'),
                                                           (31, 4, 'sdpa'), (19, 19, 'sdpa')])
def test_auto_takes_the_chunked_kernel_for_wide_values_on_cpu(channels, num_masks, expected):
    loss = ACAMKDLoss(channels, channels, num_masks=num_masks)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        loss(torch.randn(1, channels, 6, 5), torch.randn(1, channels, 6, 5))
    used_sdpa = any('scaled_dot_product' in e.key for e in prof.key_averages())
    assert used_sdpa == (expected == 'sdpa')


def test_bf16_autocast_computes_in_float32():
    query, key, value, readout = inputs(torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        pooled, projected = attention_summaries(query.bfloat16(), key.bfloat16(), value.bfloat16(), readout, 0.5)
    assert pooled.dtype == projected.dtype == torch.float32
    expected = naive_summaries(query.bfloat16().float(), key.bfloat16().float(), value.bfloat16().float(),
                               readout, 0.5)
    torch.testing.assert_close(pooled, expected[0])
    torch.testing.assert_close(projected, expected[1])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='kernel'):
        ACAMKDLoss(8, 8, attention_kernel='flash')
    with pytest.raises(ValueError, match='max_chunk_elements'):
        attention_summaries(*inputs(), 1.0, max_chunk_elements=0)
    query, key, value, readout = inputs()
    pooled, projected = attention_summaries(query[:0], key[:0], value[:0], readout, 1.0)  # an empty batch
    assert pooled.shape == (0, 5) and projected.shape == (0, 11, 4)
