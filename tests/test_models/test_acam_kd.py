"""ACAM-KD: the loss against a naive reference, masks, gradients, autocast, fused attention, training."""
import copy
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
from mmkd_plugin.engine.hooks.acam_kd_mask_logger_hook import collect_acam_stats
from mmkd_plugin.models.algorithms import acam_kd_distiller
from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss
from mmkd_devtools.testing import packed_det_batch, write_random_teacher
from tests.fixtures.runner_utils import DEMO, build_runner, logged_scalars, run, runner_cfg

ACAM_CFG = osp.join(DEMO, 'acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')


def naive_acam(loss: ACAMKDLoss, preds_S, preds_T):
    """ACAM-KD from the equations, with the explicit HW x HW softmax, for every loss setting.

    Returns (total, L_c, L_s, L_div, channel masks, spatial masks).
    """
    n, c, h, w = preds_T.shape
    m = loss.num_masks
    s = loss.align(preds_S)
    if loss.feature_norm == 'channel':  # PKD: per channel over N, H, W, unbiased std
        def norm(x):
            flat = x.transpose(0, 1).reshape(x.shape[1], -1)
            mean, std = flat.mean(1), flat.std(1)
            return (x - mean[None, :, None, None]) / (std[None, :, None, None] + 1e-6)
        s, preds_T = norm(s), norm(preds_T)
    if loss.feature_norm == 'pixel':  # each position over the channels, unbiased std
        def norm(x):
            return (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-6)
        s, preds_T = norm(s), norm(preds_T)
    t_tok, s_tok = preds_T.flatten(2), s.flatten(2)                      # (N, C, HW)
    q = torch.einsum('qc,ncp->nqp', loss.fusion.query.weight, t_tok)     # (N, C_q, HW)
    k = torch.einsum('qc,ncp->nqp', loss.fusion.key.weight, s_tok)
    v = torch.einsum('dc,ncp->ndp', loss.fusion.value.weight, s_tok)     # (N, C, HW)
    attn = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(q.shape[1]), dim=-1)  # (N, HW_t, HW_s)
    fused = v @ attn.transpose(1, 2)                                     # V A^T: (N, C, HW)
    pooled = fused.mean(-1)                                              # (N, C)
    units_c = loss.masks.channel_units                                   # (M, 1) or (M, C)
    mc = torch.sigmoid(units_c[None] * pooled[:, None])                  # (N, M, C)
    ms = torch.sigmoid(loss.masks.spatial_units @ fused)                 # (N, M, HW)
    d = preds_T.flatten(2) - s.flatten(2)                                # (N, C, HW)
    power = 1 if loss.normalize == 'mask_mean' else 2
    lc = ls = 0
    for i in range(m):
        size_c = c if loss.normalize == 'hw' else mc[:, i].sum(1)
        size_s = h * w if loss.normalize == 'hw' else ms[:, i].sum(1)
        lc = lc + (mc[:, i, :, None] ** power * d ** 2).sum((1, 2)) / (h * w * size_c)
        ls = ls + (ms[:, i, None, :] ** power * d ** 2).sum((1, 2)) / (c * size_s)
    if getattr(loss, 'distance', 'mse') == 'kl':  # tau^2 KL(teacher || student), written out per element
        tau, t_map, s_map = loss.tau, preds_T.flatten(2) / loss.tau, s.flatten(2) / loss.tau
        def kl(dim):
            p_t = torch.exp(t_map) / torch.exp(t_map).sum(dim, keepdim=True)
            p_s = torch.exp(s_map) / torch.exp(s_map).sum(dim, keepdim=True)
            return tau ** 2 * (p_t * (torch.log(p_t) - torch.log(p_s))).sum(dim)
        e_c, e_p = kl(2), kl(1)                                          # (N, C), (N, HW)
        lc = ls = 0
        for i in range(m):
            size_c = c if loss.normalize == 'hw' else mc[:, i].sum(1)
            size_s = h * w if loss.normalize == 'hw' else ms[:, i].sum(1)
            lc = lc + (mc[:, i] ** power * e_c).sum(1) / size_c
            ls = ls + (ms[:, i] ** power * e_p).sum(1) / size_s
    lc, ls = (lc / m).mean(), (ls / m).mean()
    dice = []
    for b in range(n):
        for i in range(m):
            for j in range(m):
                if i != j:
                    a, bb = ms[b, i], ms[b, j]
                    dice.append(2 * (a * bb).sum() / ((a * a).sum() + (bb * bb).sum()))
    div = torch.stack(dice).mean()
    mass = ((mc.mean(2) - loss.mass_target) ** 2).mean() + ((ms.mean(2) - loss.mass_target) ** 2).mean()
    total = loss.loss_weight * (lc + ls) + loss.div_weight * div + loss.mass_weight * mass
    return total, lc, ls, div, mc, ms.view(n, m, h, w)


def features(n=2, c_s=6, c_t=8, h=3, w=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c_s, h, w, generator=g), torch.randn(n, c_t, h, w, generator=g)


# The literal reading of the paper's notes (the defaults are the ablation's winner, docs/methods/acam_kd.md).
PAPER = dict(mask_learning='joint', normalize='mask_sum', feature_norm=None, mass_weight=0.0, loss_weight=1.0)
SETTINGS = [PAPER, dict(PAPER, normalize='hw'), dict(PAPER, normalize='mask_mean'),
            dict(PAPER, feature_norm='channel'), dict(PAPER, feature_norm='pixel'),
            dict(PAPER, mass_weight=0.8, mass_target=0.3), dict(distance='kl', tau=2.0, feature_norm=None),
            dict(PAPER, distance='kl', tau=1.0), dict(PAPER, distance='kl', tau=3.0, normalize='hw'), dict()]


@pytest.mark.parametrize('channel_mask', ['literal', 'elementwise'])
@pytest.mark.parametrize('c_s', [6, 8])
@pytest.mark.parametrize('setting', SETTINGS, ids=['paper', 'hw', 'mask_mean', 'standardised', 'pixel', 'mass', 'kl',
                                                   'kl_paper', 'kl_hw', 'defaults'])
def test_loss_matches_naive_reference(channel_mask, c_s, setting):
    torch.manual_seed(0)
    check_masks = setting in (PAPER, {})
    setting = dict(setting, loss_weight=0.7)
    if setting.get('distance') == 'kl' and c_s != 8:  # class distributions need the same classes
        with pytest.raises(ValueError, match='student_channels must equal teacher_channels'):
            ACAMKDLoss(c_s, 8, **setting)
        return
    loss = ACAMKDLoss(c_s, 8, num_masks=3, div_weight=0.3, channel_mask=channel_mask,
                      init_std=3.0, **setting)  # larger units than the default: masks far from 0.5
    loss.masks.channel_units.data.mul_(10)  # the pooled fused feature is small
    preds_S, preds_T = features(c_s=c_s)
    total = loss(preds_S, preds_T)
    ref_total, lc, ls, div, mc, ms = naive_acam(loss, preds_S, preds_T)
    assert isinstance(loss.align, torch.nn.Conv2d if c_s != 8 else torch.nn.Identity)
    torch.testing.assert_close(total, ref_total, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss.last_stats['loss_c'], lc, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss.last_stats['loss_s'], ls, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss.last_stats['div'], div, rtol=1e-5, atol=1e-6)
    if check_masks:
        c_masks, s_masks = loss.generate_masks(*loss.prepare(preds_S, preds_T))
        torch.testing.assert_close(c_masks, mc, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(s_masks, ms, rtol=1e-5, atol=1e-6)
    assert ms.std() > 0.05 and mc.std() > 0.05  # the reference is not trivially 0.5 everywhere


def test_mimic_terms_vanish_when_student_equals_teacher():
    loss = ACAMKDLoss(8, 8, num_masks=4, init_std=0.5)
    _, feat = features()
    total = loss(feat.clone(), feat)
    assert isinstance(loss.align, torch.nn.Identity)
    assert loss.last_stats['loss_c'] == 0 and loss.last_stats['loss_s'] == 0
    torch.testing.assert_close(total, loss.div_weight * loss.last_stats['div']
                               + loss.mass_weight * loss.last_stats['mass'])


@pytest.mark.parametrize('channel_mask, unit_shape', [('literal', (5, 1)), ('elementwise', (5, 8))])
def test_mask_shapes_and_range(channel_mask, unit_shape):
    loss = ACAMKDLoss(6, 8, num_masks=5, channel_mask=channel_mask, init_std=1.0)
    preds_S, preds_T = features(n=3, h=4, w=7)
    c_masks, s_masks = loss.generate_masks(loss.align(preds_S), preds_T)
    assert loss.masks.channel_units.shape == unit_shape
    assert c_masks.shape == (3, 5, 8) and s_masks.shape == (3, 5, 4, 7)
    for masks in (c_masks, s_masks):
        assert masks.dtype == torch.float32 and (masks > 0).all() and (masks < 1).all()


def _acam_params(loss):
    return dict(loss.named_parameters())


def test_joint_gradients_reach_student_and_acam_never_teacher():
    loss = ACAMKDLoss(6, 8, num_masks=3)
    preds_S, preds_T = features()
    preds_S.requires_grad_(True)
    preds_T.requires_grad_(True)  # a teacher output that could carry gradient; it must get none
    loss(preds_S, preds_T).backward()
    assert preds_T.grad is None
    assert preds_S.grad is not None and preds_S.grad.abs().sum() > 0
    for name, p in _acam_params(loss).items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_student_learns_only_through_the_masked_error():
    """Joint mode: d loss / d student equals the gradient with the masks held constant."""
    loss = ACAMKDLoss(6, 8, num_masks=3, init_std=0.5, **PAPER)
    preds_S, preds_T = features()
    s1 = preds_S.clone().requires_grad_(True)
    loss(s1, preds_T).backward()
    s2 = preds_S.clone().requires_grad_(True)
    with torch.no_grad():
        c_masks, s_masks = loss.generate_masks(loss.align(preds_S), preds_T)
    d = (preds_T - loss.align(s2)).flatten(2)
    n, c, hw = d.shape
    lc = ((c_masks[..., None] * d[:, None]) ** 2).sum((2, 3)) / (hw * c_masks.sum(2))
    ls = ((s_masks.flatten(2)[:, :, None] * d[:, None]) ** 2).sum((2, 3)) / (c * s_masks.flatten(2).sum(2))
    (lc.mean() + ls.mean()).backward()
    torch.testing.assert_close(s1.grad, s2.grad, rtol=1e-5, atol=1e-7)


def test_attached_student_also_learns_through_the_masks():
    """detach_student=False: the mask branch's gradient reaches the student too (and only then)."""
    preds_S, preds_T = features()
    grads = {}
    for detach in (True, False):
        torch.manual_seed(0)
        loss = ACAMKDLoss(6, 8, num_masks=3, init_std=0.5, detach_student=detach, **PAPER)
        s = preds_S.clone().requires_grad_(True)
        loss(s, preds_T).backward()
        grads[detach] = s.grad
        with torch.no_grad():  # the same masks, held constant: the masked-error-only gradient
            c_masks, s_masks = loss.generate_masks(loss.align(preds_S), preds_T)
        s2 = preds_S.clone().requires_grad_(True)
        d = (preds_T - loss.align(s2)).flatten(2)
        n, c, hw = d.shape
        lc = ((c_masks[..., None] * d[:, None]) ** 2).sum((2, 3)) / (hw * c_masks.sum(2))
        ls = ((s_masks.flatten(2)[:, :, None] * d[:, None]) ** 2).sum((2, 3)) / (c * s_masks.flatten(2).sum(2))
        (lc.mean() + ls.mean() + loss.div_weight * 0).backward()
        if detach:
            torch.testing.assert_close(s.grad, s2.grad, rtol=1e-5, atol=1e-7)
        else:
            assert (s.grad - s2.grad).abs().max() > 1e-4
    assert not torch.allclose(grads[True], grads[False])


@pytest.mark.numerics
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_mass_term_holds_the_masks_away_from_zero(seed):
    """Joint mode with the mask-sum normalisation shrinks the masks; the mass term holds their mean.

    Plain gradient descent in float64: its trajectory is the same on every CPU to far below the margins
    (Adam's first steps divide near-zero gradients by their own size, so its masks' fate depended on the
    processor's rounding). Margins over the three seeds: without the term the mean ends at 0.27-0.39, with
    it at 0.46-0.47.
    """
    preds_S, preds_T = (x.double() for x in features(h=6, w=6, seed=seed))
    means = {}
    for mass_weight in (0.0, 10.0):
        torch.manual_seed(0)
        loss = ACAMKDLoss(6, 8, num_masks=3, div_weight=0.0, init_std=0.01,
                          **dict(PAPER, mass_weight=mass_weight, mass_target=0.5)).double()
        optim = torch.optim.SGD(loss.parameters(), lr=1.0)
        for _ in range(50):
            optim.zero_grad()
            loss(preds_S, preds_T).backward()
            optim.step()
        means[mass_weight] = float(loss.last_stats['mask_s'])
    assert means[0.0] < 0.45 and abs(means[10.0] - 0.5) < 0.07, means
    assert means[10.0] > means[0.0] + 0.05, means


@pytest.mark.parametrize('distance', ['mse', 'kl'])
def test_online_and_minmax_mask_gradients(distance):
    preds_S, preds_T = features(c_s=8)
    preds_T.requires_grad_(True)
    torch.manual_seed(0)
    joint = ACAMKDLoss(8, 8, num_masks=3, div_weight=0.0, **dict(PAPER, distance=distance))
    online, minmax = copy.deepcopy(joint), copy.deepcopy(joint)
    online.mask_learning, minmax.mask_learning = 'online', 'minmax'
    for loss in (joint, online, minmax):
        loss(preds_S, preds_T).backward()
    assert preds_T.grad is None  # the teacher never gets a gradient
    # online: no gradient from the mimic terms into the mask generator (Dice is off here)
    for name, p in online.named_parameters():
        if not name.startswith('align'):
            assert p.grad is None or p.grad.abs().sum() == 0, name
    assert online.mask_teacher(preds_T).shape == preds_T.shape
    # minmax: the mask generator receives exactly the negated mimic gradient; the student side is unchanged
    for (name, pj), (_, pm) in zip(joint.named_parameters(), minmax.named_parameters()):
        sign = 1 if name.startswith('align') else -1
        torch.testing.assert_close(pm.grad, sign * pj.grad, msg=name)


def test_online_mode_without_acamkd_distill_is_an_error():
    loss = ACAMKDLoss(6, 8, mask_learning='online')
    preds_S, preds_T = features()
    loss(preds_S, preds_T)
    with pytest.raises(RuntimeError, match="type='ACAMKDDistill'"):
        loss(preds_S, preds_T)


def test_input_errors_name_the_fix():
    loss = ACAMKDLoss(6, 8)
    preds_S, preds_T = features()
    with pytest.raises(ValueError, match='set the channels'):
        loss(preds_T, preds_T)
    with pytest.raises(ValueError, match='one loss per level'):
        loss(preds_S[0], preds_T[0])
    with pytest.raises(ValueError, match='one loss per level'):
        loss((preds_S,), (preds_T,))
    with pytest.raises(ValueError, match="differ in size. Set resize='teacher'"):
        loss(preds_S[..., :2], preds_T)
    with pytest.raises(ValueError, match='mask_learning'):
        ACAMKDLoss(6, 8, mask_learning='offline')
    with pytest.raises(ValueError, match='normalize must be one of'):
        ACAMKDLoss(6, 8, normalize='sum')
    with pytest.raises(ValueError, match='feature_norm must be one of'):
        ACAMKDLoss(6, 8, feature_norm='layer')
    with pytest.raises(ValueError, match='mass_target'):
        ACAMKDLoss(6, 8, mass_target=1.5)
    with pytest.raises(ValueError, match='one per level'):
        acam_kd_distiller(student_channels=[8, 8], teacher_channels=8, num_levels=3)
    with pytest.raises(ValueError, match='distance must be one of'):
        ACAMKDLoss(8, 8, distance='l1')
    with pytest.raises(ValueError, match='tau is a softmax temperature'):
        ACAMKDLoss(8, 8, distance='kl', tau=0.0)


def test_level_weights_multiply_the_loss_default():
    """Without ``loss_weight`` in the config, the per-level weights scale ACAMKDLoss's own default (2)."""
    losses = acam_kd_distiller(8, 8, num_levels=3, level_weights=[1.0, 0.5, 0.25])['distill_losses']
    assert [losses[f'loss_acam_l{i}']['loss_weight'] for i in range(3)] == [2.0, 1.0, 0.5]
    losses = acam_kd_distiller(8, 8, num_levels=2, level_weights=[1.0, 0.5], loss_weight=3.0)['distill_losses']
    assert [losses[f'loss_acam_l{i}']['loss_weight'] for i in range(2)] == [3.0, 1.5]


@pytest.mark.parametrize('setting', [dict(), dict(distance='kl', feature_norm=None), dict(feature_norm='pixel')],
                         ids=['defaults', 'kl', 'pixel'])
def test_bf16_autocast_and_bf16_inputs_run(setting):
    c_s = 8 if setting.get('distance') == 'kl' else 6  # 6: through f_align's conv
    loss = ACAMKDLoss(c_s, 8, num_masks=3, **setting)
    preds_S, preds_T = features(c_s=c_s)
    s = preds_S.clone().requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(s, preds_T)
    out.backward()
    assert out.dtype == torch.float32 and torch.isfinite(out)
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in loss.parameters())
    # bf16 features outside autocast (a bf16 model, MMRazor #190): no dtype clash with fp32 weights
    out_bf16 = loss(preds_S.bfloat16().requires_grad_(True), preds_T.bfloat16())
    out_bf16.backward()
    assert out_bf16.dtype == torch.float32 and torch.isfinite(out_bf16)
    torch.testing.assert_close(out_bf16, loss(preds_S, preds_T), rtol=0.05, atol=0.05)


def test_a_float64_model_gives_a_float32_loss():
    loss = ACAMKDLoss(6, 8, num_masks=3).double()
    preds_S, preds_T = (x.double() for x in features())
    preds_S.requires_grad_()
    value = loss(preds_S, preds_T)
    value.backward()
    assert value.dtype == torch.float32 and preds_S.grad.dtype == torch.float64
    assert torch.isfinite(preds_S.grad).all() and loss.masks.channel_units.grad.dtype == torch.float64


@pytest.mark.parametrize('channels', [32, 19])
def test_attention_takes_the_fused_kernel(channels):
    """With kernel='sdpa' the HW x HW matrix is never stored: SDPA's flash kernel runs, its math
    fallback never does. (The CPU default, 'chunked': ``test_attention_summaries.py``.)"""
    loss = ACAMKDLoss(channels, channels, num_masks=4)
    loss.fusion.kernel = 'sdpa'
    s = torch.randn(1, channels, 32, 48, requires_grad=True)
    t = torch.randn(1, channels, 32, 48)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        loss(s, t).backward()
    ops = {e.key for e in prof.key_averages()}
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu' in ops
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu_backward' in ops
    assert 'aten::_scaled_dot_product_attention_math' not in ops
    tokens = 32 * 48
    biggest = max(math.prod(shape) for e in prof.events() for shape in (e.input_shapes or []) if shape)
    assert biggest < tokens * tokens // 8  # no op sees anything of the size of the HW x HW matrix


def test_mask_logger_hook_writes_the_message_hub_and_warns_on_collapse_and_saturation(capsys):
    from types import SimpleNamespace

    from mmengine.logging import MessageHub, MMLogger

    from mmkd_plugin.engine.hooks import ACAMKDMaskLoggerHook
    MMLogger.get_instance('test_acam_mask_logger_log')
    loss = ACAMKDLoss(6, 8, num_masks=3)
    loss(*features())
    runner = SimpleNamespace(model=torch.nn.ModuleDict(dict(loss_acam_l2=loss)), iter=41,
                             message_hub=MessageHub.get_instance('test_acam_mask_logger'))
    for stat, value, side in (('mask_s', 0.01, 'collapsing to 0'), ('mask_c', 0.99, 'saturating at 1')):
        loss.last_stats.update(mask_c=torch.tensor(0.5), mask_s=torch.tensor(0.5))
        loss.last_stats[stat] = torch.tensor(value)
        hook = ACAMKDMaskLoggerHook()  # bounds (0.05, 0.95)
        hook.after_train_iter(runner, batch_idx=0)
        assert hook._warned == {f'acam_l2.{stat}'}
        out = capsys.readouterr().out
        assert f'ACAM-KD acam_l2: mean {"spatial" if stat == "mask_s" else "channel"} mask {value:.3f} at ' \
               'iteration 42' in out and side in out and 'mass_weight' in out
    for key in ('mask_c', 'mask_s', 'loss_c', 'loss_s', 'div', 'mass'):
        value = runner.message_hub.get_scalar(f'train/acam_l2.{key}').current()
        assert value == pytest.approx(float(loss.last_stats[key]))
    hook = ACAMKDMaskLoggerHook(bounds=None)
    hook.after_train_iter(runner, batch_idx=0)
    assert not hook._warned
    with pytest.raises(ValueError, match='bounds'):
        ACAMKDMaskLoggerHook(bounds=(0.9, 0.1))


# --- the algorithm: shorthand, online mode, a real model ------------------------------------------

@pytest.fixture(scope='module')
def acam_cfg():
    return Config.fromfile(ACAM_CFG)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, acam_cfg):
    return write_random_teacher(acam_cfg.model, str(tmp_path_factory.mktemp('acam_teacher') / 't.pth'))


def test_the_demo_config_weighs_levels_from_the_loss_default(acam_cfg, teacher_ckpt):
    built = _build(acam_cfg, teacher_ckpt).distiller.distill_losses
    assert [built[f'loss_acam_l{i}'].loss_weight for i in range(5)] == [2.0, 1.0, 0.5, 0.25, 0.125]


def _build(acam_cfg, teacher_ckpt, **acam):
    cfg = copy.deepcopy(acam_cfg.model)
    cfg.teacher_ckpt = teacher_ckpt
    cfg.acam.update(acam)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.mark.parametrize('mode', ['joint', 'online'])
def test_model_gradients_reach_student_and_acam_never_teacher(acam_cfg, teacher_ckpt, mode):
    model = _build(acam_cfg, teacher_ckpt, mask_learning=mode)
    assert len(model.distiller.distill_losses) == 5
    model.train()
    # 64 x 160: P7 has 2 positions. (At a single position softmax is 1 whatever Q and K are, so W_q and
    # W_k get exactly no gradient there; that is the attention's nature, not a broken graph.)
    data = model.data_preprocessor(packed_det_batch((64, 160)), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert ('distill.loss_acam_mask_task' in losses) == (mode == 'online')
    sum(v for k, v in losses.items() if k.startswith('distill.')).backward()  # distillation alone
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert model.student.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
    for name, p in model.distiller.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    stats = collect_acam_stats(model)
    assert set(stats) >= {f'acam_l{i}.mask_{k}' for i in range(5) for k in 'cs'}


def test_online_mask_task_loss_trains_masks_only(acam_cfg, teacher_ckpt):
    model = _build(acam_cfg, teacher_ckpt, mask_learning='online', div_weight=0.0)
    model.train()
    data = model.data_preprocessor(packed_det_batch((64, 96)), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    student_feat = [p for p in model.student.parameters()]
    losses['distill.loss_acam_mask_task'].backward()
    assert all(p.grad is None for p in student_feat)
    assert all(p.grad is None for p in model.teacher.parameters())
    level0 = model.distiller.distill_losses['loss_acam_l0']
    assert level0.masks.spatial_units.grad.abs().sum() > 0
    assert level0.fusion.query.weight.grad.abs().sum() > 0


def test_extra_distiller_losses_next_to_acam(acam_cfg, teacher_ckpt):
    """E6: MasKD's L1 on the regression head outputs, added to the ACAM-KD levels through `distiller`."""
    reg = dict(type='ModuleOutputs', source='bbox_head.retina_reg')
    extra = dict(student_recorders=dict(reg=reg), teacher_recorders=dict(reg=reg),
                 distill_losses=dict(loss_reg_l1=dict(type='L1Loss', loss_weight=1.0)),
                 loss_forward_mappings=dict(loss_reg_l1=dict(
                     s_feature=dict(from_student=True, recorder='reg'),
                     t_feature=dict(from_student=False, recorder='reg'))))
    cfg = copy.deepcopy(acam_cfg.model)
    cfg.update(teacher_ckpt=teacher_ckpt, teacher_forward='tensor', distiller=extra)
    model = MODELS.build(cfg)
    model.train()
    data = model.data_preprocessor(packed_det_batch((64, 96)), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'distill.loss_reg_l1', 'distill.loss_acam_l0', 'distill.loss_acam_l4'} <= set(losses)
    clash = copy.deepcopy(cfg)
    clash.distiller.distill_losses = dict(loss_acam_l0=dict(type='L1Loss'))
    with pytest.raises(ValueError, match='clash'):
        MODELS.build(clash)


def test_bf16_autocast_train_step(acam_cfg, teacher_ckpt):
    model = _build(acam_cfg, teacher_ckpt)
    model.train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        log_vars = model.train_step(packed_det_batch((64, 96)), wrapper)
    assert all(math.isfinite(float(v)) for v in log_vars.values())


# --- the Runner: optimizer, checkpoint, resume, logs, the loss goes down --------------------------

def _runner_cfg(work_dir, data_root, teacher, max_epochs, **kw):
    cfg = runner_cfg(ACAM_CFG, str(work_dir), data_root, max_epochs, **kw)
    cfg.model.teacher_ckpt = teacher
    cfg.train_dataloader.batch_size = 2
    cfg.default_hooks.checkpoint.interval = 1
    cfg.param_scheduler = []  # constant lr: the demo's warm-up would hide the effect in a few steps
    cfg.optim_wrapper.optimizer.lr = 5e-3
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # no COCO evaluation: not tested here
    return cfg


def _fixed_image_masks(model, cfg, image):
    from mmkd_plugin.visualization import load_image, spatial_masks
    model.eval()
    masks, _ = spatial_masks(model, load_image(cfg.test_dataloader.dataset.pipeline, image))
    return {level: m.clone() for level, m in masks.items()}


@pytest.mark.numerics
def test_masks_stay_informative_in_a_real_run(tmp_path, synthetic_coco, teacher_ckpt):
    """60 iterations of the demo config: mean masks inside (0.05, 0.95) at every level, the masks of a
    level different from one another (Dice < 0.9 where a level has more than one position: P7 of a
    128 px image has one), changed by training; the pictures written early and late."""
    cfg = _runner_cfg(tmp_path / 'run', synthetic_coco['data_root'], teacher_ckpt, 15)
    # With this random teacher, the default loss_weight 2 makes the P3 masks end alike within 60 iterations
    # (Dice 0.999); with the trained teacher of the tiny COCO suite (240 iterations) the default ends at
    # P3 Dice 0.61 (docs/methods/acam_kd.md, round 3). Here the min-max pull is halved instead.
    cfg.model.acam.loss_weight = 1.0
    cfg.default_hooks.acam_kd_mask_pictures.iters = [1]  # after iteration 1 and at the end
    runner = build_runner(cfg)
    runner.model.init_weights()  # marks everything initialised: train() will not re-initialise
    image = cfg.default_hooks.acam_kd_mask_pictures.image
    masks_before = _fixed_image_masks(runner.model, cfg, image)
    runner.train()
    masks_after = _fixed_image_masks(runner.model, cfg, image)
    last = [r for r in logged_scalars(str(tmp_path / 'run')) if 'acam_l0.mask_s' in r][-1]
    for level, after in masks_after.items():
        for stat in ('mask_s', 'mask_c'):
            assert 0.05 < last[f'{level}.{stat}'] < 0.95, (level, stat, last[f'{level}.{stat}'])
        if after[0].numel() > 1:  # one position: a single standardised value, always 0
            assert last[f'{level}.div'] < 0.9, (level, last[f'{level}.div'])
            assert (after - masks_before[level]).abs().mean() > 1e-3, level
    pictures = glob.glob(str(tmp_path / 'run' / '*' / 'vis_data' / 'vis_image' / '*.png'))
    names = {osp.basename(p) for p in pictures}
    assert {f'acam_masks_acam_l{i}_{step}.png' for i in range(5) for step in (1, 60)} <= names, names


@pytest.mark.numerics
def test_runner_trains_saves_and_resumes_acam_parameters(tmp_path, synthetic_coco, teacher_ckpt):
    data_root = synthetic_coco['data_root']
    trained = run(_runner_cfg(tmp_path / "run", data_root, teacher_ckpt, 2))
    acam = {k: v.detach().clone() for k, v in trained.model.state_dict().items()
            if k.startswith('distiller.distill_losses.')}
    assert any(k.endswith('masks.spatial_units') for k in acam) and any('fusion.query' in k for k in acam)

    # in the optimizer, with state
    optimizer = trained.optim_wrapper.optimizer
    in_opt = {id(p) for group in optimizer.param_groups for p in group['params']}
    for name, p in trained.model.distiller.named_parameters():
        assert id(p) in in_opt and p in optimizer.state, name

    # in the checkpoint, and restored by a resumed run (max_epochs reached: nothing more is trained)
    ckpt = safe_torch_load(tmp_path / 'run' / 'epoch_2.pth', map_location='cpu')
    resumed = run(_runner_cfg(tmp_path / 'run', data_root, teacher_ckpt, 2, resume=True))
    for key, value in acam.items():
        torch.testing.assert_close(ckpt['state_dict'][key], value, msg=key)
        torch.testing.assert_close(resumed.model.state_dict()[key], value, msg=key)
    torch.manual_seed(0)
    fresh = MODELS.build(copy.deepcopy(_runner_cfg(tmp_path / 'x', data_root, teacher_ckpt, 1).model))
    fresh.init_weights()
    moved = [k for k, v in fresh.state_dict().items() if k in acam and not torch.equal(v, acam[k])]
    assert moved  # training changed them, so the equality above is a real restore

    # the per-level mean masks are in the log, and the distillation loss went down
    logs = [r for r in logged_scalars(str(tmp_path / 'run')) if 'acam_l0.mask_s' in r]
    assert len(logs) >= 8
    distill = [sum(v for k, v in r.items() if k.startswith('distill.loss')) for r in logs]
    mimic = [sum(r[f'acam_l{i}.loss_{k}'] for i in range(5) for k in 'cs') for r in logs]
    assert sum(distill[-2:]) < 0.95 * sum(distill[:2]), distill
    assert sum(mimic[-2:]) < 0.8 * sum(mimic[:2]), mimic
    # ... and not only because the masks shrank (the joint mode's drift, E1): the plain feature gap
    # between student and teacher, with no mask, closed as well
    gap_trained, gap_fresh = feature_gap(trained.model), feature_gap(fresh)
    assert gap_trained < 0.8 * gap_fresh, (gap_trained, gap_fresh)


def feature_gap(model) -> float:
    """Mean squared difference of the student's and teacher's FPN features on a fixed batch, each
    feature standardised per channel first (the space the default loss compares them in,
    ``feature_norm='channel'``; the raw scale is free to drift).

    The student runs with batch statistics (train mode): an untrained student's BN running statistics
    are their defaults, which would make its eval-mode features incomparable.
    """
    from mmkd_plugin.models.losses.acam_kd_terms import standardize_channels
    model.train()  # the teacher stays in eval mode
    with torch.no_grad():
        data = model.data_preprocessor(packed_det_batch((128, 128), seed=1), False)
        s_feats = model.student.extract_feat(data['inputs'])
        t_feats = model.teacher.extract_feat(data['inputs'])
    return sum(F.mse_loss(standardize_channels(s), standardize_channels(t)).item()
               for s, t in zip(s_feats, t_feats))


def test_kv_pooling_bounds_the_keys_and_keeps_the_full_resolution():
    loss = ACAMKDLoss(8, 8, num_masks=3, kv_max_tokens=12)
    preds_S, preds_T = features(c_s=8, h=8, w=10)  # 80 positions -> stride 3: 3 x 4 = 12 keys
    assert loss.fusion.kv_stride(8, 10) == 3 and loss.fusion.kv_stride(3, 4) == 1
    c_masks, s_masks = loss.generate_masks(preds_S, preds_T)
    assert s_masks.shape == (2, 3, 8, 10)
    # Against the equations with the student map pooled first (the naive reference on a pooled K/V).
    pooled = torch.nn.functional.avg_pool2d(preds_S, 3, 3, ceil_mode=True)
    q = torch.einsum('qc,ncp->nqp', loss.fusion.query.weight, preds_T.flatten(2))
    k = torch.einsum('qc,ncp->nqp', loss.fusion.key.weight, pooled.flatten(2))
    v = torch.einsum('dc,ncp->ndp', loss.fusion.value.weight, pooled.flatten(2))
    attn = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(q.shape[1]), dim=-1)
    fused = (v @ attn.transpose(1, 2)).view(2, 8, 8, 10)
    torch.testing.assert_close(loss.fusion(preds_T, preds_S), fused, rtol=1e-5, atol=1e-6)
    pooled_fused, projected = loss.fusion.summaries(preds_T, preds_S, loss.masks.spatial_units)
    torch.testing.assert_close(pooled_fused, fused.mean((2, 3)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(projected, loss.masks.spatial_units @ fused.flatten(2), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='kv_max_tokens'):
        ACAMKDLoss(8, 8, kv_max_tokens=0)


@pytest.mark.parametrize('qk, v, device, expected', [
    (128, 256, 'cuda', (128, 256)), (9, 19, 'cuda', (16, 24)), (9, 19, 'cpu', (19, 19)),
    (128, 256, 'cpu', (256, 256))])
def test_attention_widths_fit_the_fused_kernels(qk, v, device, expected):
    from mmkd_plugin.models.architectures.acam_kd_fusion import attention_widths
    assert attention_widths(qk, v, device) == expected


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('channels', [19, 256])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_cuda_attention_never_takes_the_math_kernel(channels, dtype):
    """With the math backend forbidden, SDPA raises if no fused kernel accepts the inputs."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    loss = ACAMKDLoss(channels, channels, num_masks=4).cuda()
    s = torch.randn(2, channels, 64, 128, device='cuda', requires_grad=True)
    t = torch.randn(2, channels, 64, 128, device='cuda')
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]):
        with torch.autocast('cuda', dtype=torch.float16, enabled=dtype == torch.float16):
            out = loss(s, t)
        out.backward()
    assert torch.isfinite(out) and s.grad is not None
