"""What only a GPU runs: mmcv's CUDA kernels, the losses' CUDA paths, a distillation step on the GPU.

Marked ``cuda`` (``pytest -m cuda``; ``tools/gpu_check.sh`` runs them) and skipped without a GPU. Each
test compares the GPU against the CPU path on the same inputs, with TF32 off (cuDNN convolutions use TF32
by default on Ampere and later: about 1e-3 relative error, which is not what is tested here).
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmkd_devtools.testing.smoke import smoke_model
from mmkd_plugin.engine.optimizers import for_distillation
from mmkd_plugin.tools_common import configure_amp
from tests.fixtures.runner_utils import DEMO, SEG_CWD_CFG

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')]
ACAM_CFG = osp.join(DEMO, 'acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_mmcv_ops_were_compiled_with_cuda_and_match_the_cpu():
    from mmcv.ops import get_compiling_cuda_version, nms, roi_align
    assert get_compiling_cuda_version() not in ('', 'not available')
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 8, 32, 48, generator=g)
    xy = torch.rand(20, 2, generator=g) * torch.tensor([40.0, 24.0])
    boxes = torch.cat([torch.randint(0, 2, (20, 1), generator=g).float(), xy,
                       xy + 4 + torch.rand(20, 2, generator=g) * 8], dim=1)
    cpu = roi_align(feats, boxes, (7, 7), 1.0, 2, 'avg', True)
    gpu = roi_align(feats.cuda(), boxes.cuda(), (7, 7), 1.0, 2, 'avg', True)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
    scores = torch.rand(20, generator=g)
    _, keep_cpu = nms(boxes[:, 1:], scores, 0.5)
    _, keep_gpu = nms(boxes[:, 1:].cuda(), scores.cuda(), 0.5)
    assert keep_gpu.cpu().tolist() == keep_cpu.tolist()


def test_mmcv_ops_on_cuda_match_torchvision():
    """RoIAlign (aligned, 2 samples per bin) and NMS: mmcv's CUDA kernels against torchvision's on the GPU."""
    torchvision = pytest.importorskip('torchvision')
    from mmcv.ops import nms, roi_align
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 8, 32, 48, generator=g).to('cuda')
    xy = torch.rand(30, 2, generator=g) * torch.tensor([40.0, 24.0])
    boxes = torch.cat([torch.randint(0, 2, (30, 1), generator=g).float(), xy,
                       xy + 4 + torch.rand(30, 2, generator=g) * 8], dim=1).to('cuda')
    ours = roi_align(feats, boxes, (7, 7), 1.0, 2, 'avg', True)
    theirs = torchvision.ops.roi_align(feats, boxes, (7, 7), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    scores = torch.rand(30, generator=g).to('cuda')
    _, keep = nms(boxes[:, 1:], scores, 0.5)
    assert keep.tolist() == torchvision.ops.nms(boxes[:, 1:], scores, 0.5).tolist()


def test_focal_loss_cuda_kernel_matches_the_python_form():
    """mmdet's FocalLoss takes mmcv's sigmoid_focal_loss kernel on CUDA and its Python form on CPU."""
    from mmdet.models.losses import FocalLoss
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(64, 3, generator=g), torch.randint(0, 4, (64,), generator=g)
    loss = FocalLoss(use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)
    cpu_x, gpu_x = logits.clone().requires_grad_(), logits.cuda().requires_grad_()
    cpu, gpu = loss(cpu_x, labels), loss(gpu_x, labels.cuda())
    cpu.backward()
    gpu.backward()
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gpu_x.grad.cpu(), cpu_x.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('channels', [19, 256])
@pytest.mark.parametrize('kernel', ['chunked', 'sdpa'])
def test_acam_kd_loss_on_cuda_matches_the_cpu(channels, kernel):
    from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss
    torch.manual_seed(0)
    loss = ACAMKDLoss(channels, channels, num_masks=6, attention_kernel=kernel)
    s, t = torch.randn(2, channels, 24, 40), torch.randn(2, channels, 24, 40)
    s_cpu, s_gpu = s.clone().requires_grad_(), s.cuda().requires_grad_()
    cpu = loss(s_cpu, t)
    gpu = copy.deepcopy(loss).cuda()(s_gpu, t.cuda())
    cpu.backward()
    gpu.backward()
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(s_gpu.grad.cpu(), s_cpu.grad, rtol=1e-3, atol=1e-7)


def _steps(config, tmp_path, amp=False):
    """The same model and batch stepped on the CPU and on the GPU: both steps' log vars. Dropout is off
    (the decode heads': the CPU's and the GPU's random streams differ)."""
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model, batch = smoke_model(cfg, str(tmp_path))
    for module in model.modules():
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            module.p = 0.0
    results = []
    for device in (['cuda'] if amp else ['cpu', 'cuda']):
        run_cfg = copy.deepcopy(cfg)
        if amp:
            configure_amp(run_cfg)
        replica = copy.deepcopy(model).to(device).train()
        optim = build_optim_wrapper(replica, for_distillation(replica, run_cfg.optim_wrapper))
        results.append({k: float(v) for k, v in replica.train_step(copy.deepcopy(batch), optim).items()})
    return results


@pytest.mark.parametrize('config', [ACAM_CFG, SEG_CWD_CFG], ids=osp.basename)
def test_a_distillation_step_on_cuda_gives_the_cpu_losses(config, tmp_path):
    cpu, gpu = _steps(config, tmp_path)
    assert set(gpu) == set(cpu) and any(k.startswith('distill.') for k in gpu)
    for key in cpu:
        assert gpu[key] == pytest.approx(cpu[key], rel=2e-3, abs=1e-5), key


def test_an_amp_step_on_cuda_has_finite_losses(tmp_path):
    """What tools/train.py --amp builds on a GPU: fp16 AmpOptimWrapper with dynamic loss scaling."""
    (gpu,) = _steps(ACAM_CFG, tmp_path, amp=True)
    assert any(k.startswith('distill.') for k in gpu)
    assert all(torch.isfinite(torch.tensor(v)) for v in gpu.values()), gpu
