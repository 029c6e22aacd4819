"""2-process DDP (gloo): a distillation step equals the single-process step on the same two batches;
trainable distillers run with MMEngine's default find_unused_parameters=False."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

from mmkd_devtools.testing import packed_det_batch, write_random_teacher
from tests.fixtures.ddp_utils import end_worker
from tests.fixtures.runner_utils import CWD_CFG, REPO

LR = 0.05


def _build(teacher_ckpt, init_state):
    cfg = Config.fromfile(CWD_CFG).model
    cfg.teacher_ckpt = teacher_ckpt
    model = MODELS.build(cfg)
    model.load_state_dict(init_state)
    return model


def _student_vector(model):
    return torch.cat([p.detach().flatten() for p in model.architecture.parameters()])


def _worker(rank, world_size, port, teacher_ckpt, init_path, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    import mmkd_plugin  # noqa: F401
    from mmengine.model import MMDistributedDataParallel
    model = _build(teacher_ckpt, torch.load(init_path))
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=False)  # MMEngine's default
    optim = OptimWrapper(torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=LR))
    losses = ddp.train_step(packed_det_batch(seed=rank), optim)
    torch.save(dict(student=_student_vector(model), loss=float(losses['loss'])),
               os.path.join(out_dir, f'rank{rank}.pth'))
    end_worker()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_gloo_step_matches_single_process(tmp_path):
    cfg = Config.fromfile(CWD_CFG).model
    teacher_ckpt = write_random_teacher(cfg, str(tmp_path / 'teacher.pth'))
    cfg.teacher_ckpt = teacher_ckpt
    torch.manual_seed(0)
    reference = MODELS.build(cfg)
    reference.init_weights()
    init_path = str(tmp_path / 'init.pth')
    torch.save(reference.state_dict(), init_path)

    mp.spawn(_worker, args=(2, _free_port(), teacher_ckpt, init_path, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    assert torch.equal(ranks[0]['student'], ranks[1]['student']), 'ranks diverged after one step'

    # Single process: DDP averages the two ranks' gradients; BN sees each batch alone, as on a rank.
    reference.train()
    params = [p for p in reference.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=LR)
    optimizer.zero_grad()
    for seed in range(2):
        data = reference.data_preprocessor(packed_det_batch(seed=seed), True)
        losses = reference(**data, mode='loss')
        loss, _ = reference.parse_losses(losses)
        (loss / 2).backward()
        assert abs(float(loss) - ranks[seed]['loss']) < 1e-4
    before = _student_vector(reference)
    optimizer.step()
    torch.testing.assert_close(ranks[0]['student'], _student_vector(reference), rtol=1e-4, atol=1e-5)
    assert (ranks[0]['student'] - before).abs().max() > 1e-4, 'the step changed nothing'


def _steps_worker(rank, world_size, port, model_cfg, stop_after, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    import mmkd_plugin  # noqa: F401
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import DefaultScope
    from mmkd_devtools.testing import packed_batch_for
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=False)
    optim = OptimWrapper(torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=0.01))
    logged = []
    for i in range(3):  # DDP fails in the step after one that left a parameter without gradient
        if i == stop_after:
            model.distillation_stopped = True  # what mmrazor's StopDistillHook does
        log_vars = ddp.train_step(packed_batch_for(model, (64, 96), (64, 128), seed=rank), optim)
        logged.append(sorted(k for k in log_vars if k.startswith('distill.')))
    torch.save(logged, os.path.join(out_dir, f'steps{rank}.pth'))
    end_worker()


@pytest.mark.parametrize('config, overrides, stop_after', [
    ('configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
     dict(acam=dict(mask_types=['spatial'])), None),  # the channel units are left out of the loss
    ('configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py', {}, 1),
    ('tools/benchmarks/suites/tiny_cityscapes/uskd_deeplabv3-r18-w16_synthetic-cityscapes.py', {}, None),
], ids=['acam_spatial_only', 'acam_stop_distill', 'uskd'])
def test_trainable_distillers_under_ddp_without_find_unused(config, overrides, stop_after, tmp_path):
    from mmengine.config import ConfigDict
    from mmkd_devtools.testing import offline_model_cfg
    cfg = Config.fromfile(os.path.join(REPO, config))
    cfg.model = Config._merge_a_into_b(ConfigDict(overrides), cfg.model)
    model_cfg = offline_model_cfg(cfg, str(tmp_path))
    mp.spawn(_steps_worker, args=(2, _free_port(), model_cfg, stop_after, str(tmp_path)), nprocs=2)
    logged = torch.load(tmp_path / 'steps0.pth')
    assert len(logged) == 3 and logged[0], logged
    if stop_after is not None:
        assert logged[stop_after:] == [[]] * (3 - stop_after)  # no distillation loss after the stop


def _syncbn_worker(rank, port, out_dir):
    from mmengine.registry import MODEL_WRAPPERS

    import mmkd_plugin  # noqa: F401
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=1)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.SyncBatchNorm(4))
    wrapped = MODEL_WRAPPERS.build(dict(type='CPUDistributedDataParallel', module=model))
    wrapped(torch.randn(2, 3, 8, 8)).sum().backward()  # SyncBN would raise on CPU here
    torch.save(dict(syncbn=any(isinstance(m, torch.nn.SyncBatchNorm) for m in wrapped.modules()),
                    bn=any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in wrapped.modules())),
               os.path.join(out_dir, 'syncbn.pth'))
    end_worker()


def test_cpu_ddp_wrapper_turns_syncbn_into_bn(tmp_path):
    """Stock mmseg configs use SyncBN, which torch refuses on CPU; the CPU wrapper reverts it. In a spawned
    process that leaves through ``end_worker``: tearing the DDP reducer and its gloo group down in the test
    process itself hung once in a full run (the deadlock ``end_worker`` describes)."""
    mp.spawn(_syncbn_worker, args=(_free_port(), str(tmp_path)), nprocs=1)
    found = torch.load(tmp_path / 'syncbn.pth')
    assert not found['syncbn'] and found['bn']


def _hard_worker(rank, world_size, port, model_cfg, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    import mmkd_plugin  # noqa: F401
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import DefaultScope
    from mmkd_devtools.testing import packed_batch_for
    torch.manual_seed(0)  # the same initial weights on both ranks, as MMEngine's seeding gives
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    initial = model.augmentor.log_std.detach().clone()
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=False)
    optim = OptimWrapper(torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=0.01))
    for _ in range(2):  # each rank its own batch: the augmentor's gradients differ before the all-reduce
        ddp.train_step(packed_batch_for(model, (64, 96), (64, 128), seed=rank), optim)
    torch.save(dict(initial=initial, log_std=model.augmentor.log_std.detach()),
               os.path.join(out_dir, f'hard{rank}.pth'))
    end_worker()


def test_hard_augmentor_stays_the_same_on_every_rank(tmp_path):
    """HARD's augmentor is outside DDP (frozen between its own steps); its gradients are averaged by hand."""
    from mmkd_devtools.testing import offline_model_cfg
    cfg = Config.fromfile(os.path.join(
        REPO, 'tools/benchmarks/suites/tiny_coco',
        'hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'))
    model_cfg = offline_model_cfg(cfg, str(tmp_path))
    mp.spawn(_hard_worker, args=(2, _free_port(), model_cfg, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'hard{r}.pth') for r in range(2)]
    assert not torch.equal(ranks[0]['log_std'], ranks[0]['initial']), 'the augmentor did not move'
    torch.testing.assert_close(ranks[0]['log_std'], ranks[1]['log_std'], rtol=0, atol=1e-6)


def _centroid_worker(rank, world_size, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    from mmkd_plugin.models.losses import MCMILoss
    loss = MCMILoss(num_classes=3)
    g = torch.Generator().manual_seed(rank)  # each rank sees other rows
    rows, labels = torch.randn(6 + rank, 3, generator=g), torch.arange(6 + rank) % 3
    loss.start_collecting()
    loss(rows, labels)
    statistics = loss.finish_collecting()
    torch.save(dict(rows=rows, labels=labels, centroids=loss.centroids, cmi=statistics.cmi()),
               os.path.join(out_dir, f'centroids{rank}.pth'))
    end_worker()


def test_mcmi_centroids_are_summed_over_ranks(tmp_path):
    mp.spawn(_centroid_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'centroids{r}.pth') for r in range(2)]
    rows = torch.cat([r['rows'] for r in ranks]).double()
    labels = torch.cat([r['labels'] for r in ranks])
    probs = rows.softmax(dim=1)
    expected = torch.stack([probs[labels == y].mean(dim=0) for y in range(3)])
    for r in ranks:
        torch.testing.assert_close(r['centroids'].double(), expected, rtol=1e-5, atol=1e-7)
    assert ranks[0]['cmi'] == ranks[1]['cmi']
