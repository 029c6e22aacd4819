"""A 2-process DDP (gloo) distillation step equals the single-process step on the same two batches."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

from mmkd_plugin.testing import packed_det_batch, write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG

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
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=True)
    optim = OptimWrapper(torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=LR))
    losses = ddp.train_step(packed_det_batch(seed=rank), optim)
    torch.save(dict(student=_student_vector(model), loss=float(losses['loss'])),
               os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


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
