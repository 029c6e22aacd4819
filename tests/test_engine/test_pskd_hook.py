"""PSKDHook in the real MMEngine Runner: the official PS-KD loop reproduced, the α schedules, the
snapshot refresh, exact resume (memory and snapshot) and 2-process gloo DDP.

The (N, C) runs use a linear classifier on a small in-memory dataset (registered below); the official
training loop (lgcnsai/PS-KD-Pytorch ``main.py``) is written out plainly as the reference. The dense
resume runs the demo DeepLabV3 student on the generated Cityscapes set at 32x64.
"""
import copy
import os
import os.path as osp
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, MODELS
from mmengine.structures import BaseDataElement
from torch import nn

from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
from mmkd_plugin.engine.hooks.pskd_hook import PSKDHook
from mmkd_plugin.models.losses.pskd import PSKDLoss, PSKDTargetsMixin
from mmkd_plugin.models.losses.pskd_focal import PSKDFocalLoss
from tests.fixtures.ddp_utils import end_worker
from tests.fixtures.runner_utils import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_DEMO = osp.join(REPO, 'configs/demo/pskd_deeplabv3_r18-w16_synthetic-cityscapes.py')
IN_DIM, NUM_CLASSES, NUM_SAMPLES = 6, 5, 10
ALPHA_T = 0.8
SGD = dict(type='SGD', lr=0.5, momentum=0.9, nesterov=True, weight_decay=5e-4)  # official optimiser


pytestmark = pytest.mark.usefixtures('one_thread')  # tiny models: see tests/fixtures/threads.py

@MODELS.register_module(name='PSKDToyClassifier', force=True)
class ToyClassifier(BaseModel):
    """A linear classifier whose CE is PSKDLoss; ``mode='tensor'`` gives the (N, C) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(IN_DIM, NUM_CLASSES)
        self.loss_cls = PSKDLoss()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.fc(torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs)
        if mode == 'loss':
            return dict(loss_cls=self.loss_cls(logits, torch.stack([s.gt_label for s in data_samples])))
        return logits


@MODELS.register_module(name='PSKDToyBNClassifier', force=True)
class ToyBNClassifier(ToyClassifier):
    """``ToyClassifier`` with a BatchNorm between two linear layers: train and eval mode differ."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(IN_DIM, 8), nn.BatchNorm1d(8), nn.Linear(8, NUM_CLASSES))


@DATASETS.register_module(name='PSKDToyDataset', force=True)
class ToyDataset(torch.utils.data.Dataset):
    metainfo: dict = {}

    def __init__(self, with_sample_idx: bool = True) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(NUM_SAMPLES, IN_DIM, generator=g)
        self.y = torch.randint(0, NUM_CLASSES, (NUM_SAMPLES,), generator=g)
        self.with_sample_idx = with_sample_idx

    def __len__(self) -> int:
        return NUM_SAMPLES

    def __getitem__(self, i):
        sample = BaseDataElement(metainfo=dict(sample_idx=i) if self.with_sample_idx else {})
        sample.gt_label = self.y[i]
        return dict(inputs=self.x[i], data_samples=sample)


class Recorder(Hook):
    """The loss and α of every iteration, in order."""
    priority = 'LOWEST'

    def __init__(self):
        self.losses, self.alphas = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))
        self.alphas.append(runner.message_hub.get_scalar('train/pskd_alpha').current())


class Interrupted(Exception):
    pass


class Crash(Hook):
    """Stop the run at the start of an epoch / iteration (after the previous checkpoint)."""

    def __init__(self, epoch=None, iteration=None):
        self.epoch, self.iteration = epoch, iteration

    def before_train_epoch(self, runner):
        if runner.epoch == self.epoch:
            raise Interrupted

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration:
            raise Interrupted


def unique_name(prefix, work_dir):
    """An experiment name no other test shares: MMEngine names its logger and visualizer instances
    ``<experiment_name>_<timestamp to the second>`` and hands back an existing instance of that name, so two
    tests' runs named alike in one second would write into the first test's work dir."""
    return f'{prefix}_{osp.basename(osp.dirname(str(work_dir)))}_{osp.basename(str(work_dir))}'


def toy_cfg(work_dir, mode='memory', max_epochs=3, batch_size=4, max_iters=None, **overrides):
    loop = (dict(by_epoch=True, max_epochs=max_epochs) if max_iters is None
            else dict(type='IterBasedTrainLoop', max_iters=max_iters))
    sampler = 'DefaultSampler' if max_iters is None else 'InfiniteSampler'
    cfg = Config(dict(
        model=dict(type='PSKDToyClassifier'), work_dir=str(work_dir), default_scope='mmengine',
        train_dataloader=dict(dataset=dict(type='PSKDToyDataset'), batch_size=batch_size,
                              num_workers=0, sampler=dict(type=sampler, shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=loop, optim_wrapper=dict(optimizer=SGD),
        custom_hooks=[dict(type='PSKDHook', alpha_T=ALPHA_T, mode=mode)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0), experiment_name=unique_name('pskd', work_dir)))
    cfg.merge_from_dict(overrides)
    return cfg


def train(cfg, *extra_hooks):
    runner = build_runner(cfg)
    recorder = Recorder()
    for hook in (recorder,) + extra_hooks:
        runner.register_hook(hook)
    runner.train()
    return runner, recorder, next(h for h in runner.hooks if isinstance(h, PSKDHook))


def official_loop(init_state, epochs, batch, mode='memory', model=None, snapshot_mode='eval'):
    """main.py's train loop (single process) on the toy data; snapshot mode swaps the memory for the
    student frozen at the start of each epoch, run in eval mode or in train mode (BN on the batch's
    statistics, the frozen copy's running statistics left alone: a fresh copy per batch)."""
    data = ToyDataset()
    model = model or nn.Linear(IN_DIM, NUM_CLASSES)
    model.load_state_dict(init_state)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=5e-4, nesterov=True)
    all_predictions = torch.zeros(NUM_SAMPLES, NUM_CLASSES)
    losses = []
    for epoch in range(epochs):
        alpha_t = ALPHA_T * ((epoch + 1) / epochs)
        snapshot = copy.deepcopy(model) if epoch > 0 else None
        for start in range(0, NUM_SAMPLES, batch):
            idx = torch.arange(start, min(start + batch, NUM_SAMPLES))
            targets_one_hot = torch.eye(NUM_CLASSES)[data.y[idx]]
            if mode == 'memory':
                if epoch == 0:
                    all_predictions[idx] = targets_one_hot
                prev = all_predictions[idx]
            elif snapshot is None:
                prev = targets_one_hot
            else:
                frozen = copy.deepcopy(snapshot)  # running statistics as frozen, whatever the forward does
                frozen.train(snapshot_mode == 'train')
                with torch.no_grad():
                    prev = F.softmax(frozen(data.x[idx]), 1)
            soft_targets = (1 - alpha_t) * targets_one_hot + alpha_t * prev
            outputs = model(data.x[idx])
            softmax_output = F.softmax(outputs, dim=1)
            loss = (-soft_targets * F.log_softmax(outputs, dim=1)).mean(0).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            all_predictions[idx] = softmax_output.detach()
            losses.append(loss.item())
    return losses, all_predictions, model.state_dict()


@pytest.mark.numerics
@pytest.mark.parametrize('mode', ['memory', 'snapshot'])
def test_runner_reproduces_the_official_loop(tmp_path, mode):
    cfg = toy_cfg(tmp_path / mode, mode=mode)
    runner = build_runner(cfg)
    init = {k: v.clone() for k, v in runner.model.fc.state_dict().items()}
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, PSKDHook))
    losses, memory, state = official_loop(init, epochs=3, batch=4, mode=mode)
    assert len(recorder.losses) == 9  # 3 epochs of batches 4, 4, 2
    torch.testing.assert_close(torch.tensor(recorder.losses), torch.tensor(losses), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(runner.model.fc.state_dict(), state, rtol=1e-5, atol=1e-6)
    assert recorder.alphas == pytest.approx([ALPHA_T * (t + 1) / 3 for t in range(3) for _ in range(3)])
    if mode == 'memory':
        torch.testing.assert_close(hook.memory.probs, memory, rtol=1e-5, atol=1e-6)
        assert hook.memory.seen.all()
    else:
        assert hook.snapshot_iter == 6  # taken at the start of the last epoch


@pytest.mark.parametrize('snapshot_mode', ['eval', 'train'])
def test_the_snapshot_runs_in_its_snapshot_mode(tmp_path, snapshot_mode):
    """With BatchNorm, eval and train mode give different past predictions; each run matches the plain
    loop of its own mode and not the other's, and the snapshot's running statistics stay as taken."""
    cfg = toy_cfg(tmp_path / snapshot_mode, mode='snapshot', model=dict(type='PSKDToyBNClassifier'),
                  custom_hooks=[dict(type='PSKDHook', alpha_T=ALPHA_T, mode='snapshot', snapshot_mode=snapshot_mode)])
    runner = build_runner(cfg)
    init = {k: v.clone() for k, v in runner.model.fc.state_dict().items()}
    snapshots = []

    class KeepSnapshot(Hook):
        priority = 'LOWEST'

        def before_train_epoch(self, runner):
            hook = next(h for h in runner.hooks if isinstance(h, PSKDHook))
            if hook.snapshot_iter >= 0:
                snapshots.append({k: v.clone() for k, v in hook.snapshot.state_dict().items()})

    recorder = Recorder()
    runner.register_hook(recorder)
    runner.register_hook(KeepSnapshot())
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, PSKDHook))
    assert not hook.snapshot.training
    torch.testing.assert_close(hook.snapshot.state_dict(), snapshots[-1])  # BN buffers included: untouched
    other = 'train' if snapshot_mode == 'eval' else 'eval'
    net = lambda: nn.Sequential(nn.Linear(IN_DIM, 8), nn.BatchNorm1d(8), nn.Linear(8, NUM_CLASSES))  # noqa: E731
    mine, _, _ = official_loop(init, 3, 4, mode='snapshot', model=net(), snapshot_mode=snapshot_mode)
    theirs, _, _ = official_loop(init, 3, 4, mode='snapshot', model=net(), snapshot_mode=other)
    torch.testing.assert_close(torch.tensor(recorder.losses), torch.tensor(mine), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(torch.tensor(mine[3:]), torch.tensor(theirs[3:]), rtol=1e-3)


def test_batch_statistics_leaves_the_running_statistics_alone():
    from mmkd_plugin.engine.hooks.pskd_providers import batch_statistics
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5)).eval()
    model[1].running_mean.fill_(3.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 4)
    with torch.no_grad(), batch_statistics(model):
        assert model.training and model[2].training
        torch.manual_seed(1)
        got = model(x)
    hidden = model[0](x)
    normed = (hidden - hidden.mean(0)) / torch.sqrt(hidden.var(0, unbiased=False) + model[1].eps)
    torch.manual_seed(1)
    want = F.dropout(normed * model[1].weight + model[1].bias, 0.5, training=True)
    torch.testing.assert_close(got, want.detach())
    assert not model.training and model[1].track_running_stats
    torch.testing.assert_close(model.state_dict(), before)


def test_iteration_based_alpha_and_snapshot_interval(tmp_path):
    _, recorder, hook = train(toy_cfg(tmp_path, mode='snapshot', max_iters=7))
    assert recorder.alphas == pytest.approx([ALPHA_T * (i + 1) / 7 for i in range(7)])
    assert hook.interval == 3 and hook.snapshot_iter == 6  # one pass: ceil(10 / 4) iterations


def test_missing_sample_idx_is_a_clear_error(tmp_path):
    cfg = toy_cfg(tmp_path)
    cfg.train_dataloader.dataset.with_sample_idx = False
    with pytest.raises(KeyError, match="'sample_idx' to its meta_keys"):
        train(cfg)


def test_configuration_errors():
    with pytest.raises(ValueError, match='alpha_T'):
        PSKDHook(alpha_T=1.5)
    with pytest.raises(ValueError, match="mode='snapshot' only"):
        PSKDHook(mode='memory', snapshot_interval=10)
    with pytest.raises(ValueError, match="snapshot_mode applies to mode='snapshot' only"):
        PSKDHook(mode='memory', snapshot_mode='train')
    with pytest.raises(ValueError, match='snapshot_mode must be one of'):
        PSKDHook(snapshot_mode='batch')
    plain = SimpleNamespace(model=nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match='exactly one PS-KD loss'):
        PSKDHook()._find_loss(PSKDHook.student(plain))
    head = nn.Module()
    head.loss_decode, head.align_corners = PSKDLoss(align_corners=False), True
    seg = nn.Module()
    seg.decode_head = head
    with pytest.raises(ValueError, match="align_corners"):
        PSKDHook()._find_loss(seg)
    det = nn.Module()  # a loss that cannot keep one row per sample says so (supports_memory)
    det.bbox_head = nn.Module()
    det.bbox_head.loss_cls = PSKDFocalLoss()
    with pytest.raises(ValueError, match="PSKDFocalLoss.*use mode='snapshot'"):
        PSKDHook(mode='memory')._find_loss(det)
    hook = PSKDHook(mode='memory')
    with pytest.raises(ValueError, match='same mode'):
        hook.after_load_checkpoint(SimpleNamespace(_resume=True), dict(pskd=dict(mode='snapshot')))


def test_memory_resume_reproduces_the_uninterrupted_run(tmp_path):
    full, full_log, full_hook = train(toy_cfg(tmp_path / 'full'))
    with pytest.raises(Interrupted):
        train(toy_cfg(tmp_path / 'split'), Crash(epoch=2))
    resumed, log, hook = train(toy_cfg(tmp_path / 'split', resume=True))
    assert len(log.losses) == 3
    assert log.losses == pytest.approx(full_log.losses[-3:], rel=1e-6, abs=1e-7)
    assert log.alphas == pytest.approx(full_log.alphas[-3:])
    torch.testing.assert_close(hook.memory.probs, full_hook.memory.probs, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(resumed.model.state_dict(), full.model.state_dict(), rtol=1e-6, atol=1e-7)


def test_snapshot_resume_reproduces_the_uninterrupted_run_toy(tmp_path):
    """Iteration-based, snapshots every 2 iterations; interrupted after 3 iterations."""
    def cfg(work_dir, **kw):
        return toy_cfg(work_dir, mode='snapshot', max_iters=6, custom_hooks=[dict(
            type='PSKDHook', alpha_T=ALPHA_T, mode='snapshot', snapshot_interval=2)],
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3)), **kw)
    full, full_log, _ = train(cfg(tmp_path / 'full'))
    with pytest.raises(Interrupted):
        train(cfg(tmp_path / 'split'), Crash(iteration=3))
    resumed, log, hook = train(cfg(tmp_path / 'split', resume=True))
    assert len(log.losses) == 3 and hook.snapshot_iter == 4
    assert log.losses == pytest.approx(full_log.losses[-3:], rel=1e-6, abs=1e-7)
    torch.testing.assert_close(resumed.model.state_dict(), full.model.state_dict(), rtol=1e-6, atol=1e-7)


def seg_cfg(work_dir, data_root, **overrides):
    cfg = Config.fromfile(SEG_DEMO)
    data_root = data_root.rstrip('/') + '/'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.pipeline = [  # no random augmentation, 32x64 inputs
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
        dict(type='Resize', scale=(64, 32), keep_ratio=False), dict(type='PackSegInputs')]
    cfg.train_dataloader.batch_size = 2  # ASPP's pooled branch needs 2 for BN
    cfg.model.data_preprocessor.size = (32, 64)
    cfg.model.decode_head.dropout_ratio = 0  # torch's RNG is re-seeded on resume, not restored
    cfg.model.auxiliary_head.dropout_ratio = 0
    cfg.default_hooks.pskd.alpha_T = ALPHA_T  # the paper's value: soft targets far from the labels
    cfg.merge_from_dict(dict(
        work_dir=str(work_dir), val_cfg=None, val_dataloader=None, val_evaluator=None,
        test_cfg=None, test_dataloader=None, test_evaluator=None, randomness=dict(seed=0),
        experiment_name=unique_name('pskd_seg', work_dir)))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=5)
    cfg.default_hooks.pskd.snapshot_interval = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=3)
    cfg.merge_from_dict(overrides)
    return cfg


def test_snapshot_resume_reproduces_the_uninterrupted_run(tmp_path, synthetic_cityscapes):
    """Snapshots at iterations 2 and 4; interrupted after 3, iteration 3 needs the saved snapshot."""
    root = synthetic_cityscapes['data_root']
    full, full_log, _ = train(seg_cfg(tmp_path / 'full', root))
    with pytest.raises(Interrupted):
        train(seg_cfg(tmp_path / 'split', root), Crash(iteration=3))
    saved = safe_torch_load(tmp_path / 'split' / 'iter_3.pth', map_location='cpu')['pskd']
    assert saved['snapshot_iter'] == 2 and 'snapshot' in saved
    resumed, log, hook = train(seg_cfg(tmp_path / 'split', root, resume=True))
    assert len(log.losses) == 2 and hook.snapshot_iter == 4
    assert log.losses == pytest.approx(full_log.losses[-2:], rel=1e-5)
    assert log.alphas == pytest.approx([ALPHA_T * 4 / 5, ALPHA_T])
    full_state = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, full_state[key], rtol=1e-5, atol=1e-6, msg=key)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, work_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    cfg = toy_cfg(work_dir, batch_size=2, launcher='pytorch',
                  model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=None))
    _, _, hook = train(cfg)
    torch.save(dict(probs=hook.memory.probs, seen=hook.memory.seen),
               osp.join(work_dir, f'memory_rank{rank}.pth'))
    end_worker()


def test_two_process_gloo_memory_equals_single_process(tmp_path):
    """2 ranks x 2 samples per step see the same samples per step as 1 process x 4 (DefaultSampler
    without shuffle deals indices round-robin); gradients are averaged, so the runs match."""
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path / 'ddp')), nprocs=2)
    _, _, single = train(toy_cfg(tmp_path / 'single', batch_size=4, max_epochs=3))
    ranks = [torch.load(tmp_path / 'ddp' / f'memory_rank{r}.pth') for r in range(2)]
    assert torch.equal(ranks[0]['probs'], ranks[1]['probs'])
    assert ranks[0]['seen'].all()
    torch.testing.assert_close(ranks[0]['probs'], single.memory.probs, rtol=1e-5, atol=1e-6)


def test_a_snapshot_restored_mid_epoch_is_kept():
    """Resumed from a checkpoint in the middle of epoch 2, the restored snapshot (taken when epoch 2
    began) is the right one; the weights at the restart are iterations into the epoch."""
    from types import SimpleNamespace
    hook = PSKDHook(mode='snapshot')
    hook.by_epoch, hook.interval = True, None
    taken = []
    hook.take_snapshot = lambda runner: taken.append(runner.iter)
    runner = SimpleNamespace(epoch=2, max_epochs=4, iter=25, train_dataloader=[None] * 10)
    hook.snapshot_iter = 20  # restored: taken at the start of epoch 2
    hook.before_train_epoch(runner)
    assert taken == []
    hook.snapshot_iter = 10  # restored from a checkpoint saved at the end of epoch 1: take it now
    hook.before_train_epoch(runner)
    assert taken == [25]


def test_memory_mode_refuses_a_concat_dataset():
    from mmengine.dataset import ConcatDataset
    dataset = ConcatDataset.__new__(ConcatDataset)  # the type is what matters
    with pytest.raises(ValueError, match='starts again at 0 in each dataset of a ConcatDataset'):
        PSKDHook._check_memory_dataset(dataset)


class MinimalPSKDCrossEntropy(PSKDTargetsMixin, nn.Module):
    """A PS-KD loss for a new head, written here against the loss-side interface only: the mixin, and
    ``past_predictions(logits)`` answering α_t and p_{t−1} (memory rows or snapshot logits)."""

    supports_memory = True  # one (C,) row per sample

    def forward(self, logits, labels):
        logits = logits.float()
        onehot = F.one_hot(labels, logits.shape[1]).float()
        past = self.past_predictions(logits)
        alpha, prev = (0.0, onehot) if past is None else (past.alpha, onehot)
        if past is not None and past.probs is not None:
            prev = torch.where(past.seen[:, None], past.probs, onehot)
        elif past is not None and past.logits is not None:
            prev = past.logits.float().softmax(1)
        targets = (1 - alpha) * onehot + alpha * prev
        return (-targets * logits.log_softmax(1)).mean(0).sum()


@MODELS.register_module(name='PSKDToyClassifierNewLoss', force=True)
class ToyClassifierNewLoss(ToyClassifier):
    def __init__(self) -> None:
        super().__init__()
        self.loss_cls = MinimalPSKDCrossEntropy()


class ProviderRecorder(Hook):
    """The provider the loss holds at every iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.providers = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.providers.append(runner.model.loss_cls.provider)


@pytest.mark.parametrize('mode', ['memory', 'snapshot'])
def test_a_new_heads_loss_needs_only_the_loss_file(tmp_path, mode):
    """A loss class defined in this test, with no change to the hook or the providers, trains with
    PSKDHook as the official loop does; its provider is attached once, for the whole run."""
    cfg = toy_cfg(tmp_path / mode, mode=mode, model=dict(type='PSKDToyClassifierNewLoss'))
    runner = build_runner(cfg)
    init = {k: v.clone() for k, v in runner.model.fc.state_dict().items()}
    recorder, providers = Recorder(), ProviderRecorder()
    runner.register_hook(recorder)
    runner.register_hook(providers)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, PSKDHook))
    assert isinstance(hook.loss, MinimalPSKDCrossEntropy)
    losses, memory, state = official_loop(init, epochs=3, batch=4, mode=mode)
    torch.testing.assert_close(torch.tensor(recorder.losses), torch.tensor(losses), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(runner.model.fc.state_dict(), state, rtol=1e-5, atol=1e-6)
    assert len(providers.providers) == 9 and all(p is providers.providers[0] for p in providers.providers)
    assert providers.providers[0] is not None and runner.model.loss_cls.provider is None  # detached after
    if mode == 'memory':
        torch.testing.assert_close(hook.memory.probs, memory, rtol=1e-5, atol=1e-6)


def test_the_snapshot_runs_in_the_steps_autocast_and_the_loss_in_fp32():
    """The provider sees the batch where train_step preprocesses it, inside the optimizer wrapper's
    autocast context, so the snapshot runs in the same precision as the student; the loss is fp32."""
    model = ToyClassifier().train()
    hook = PSKDHook(mode='snapshot')
    hook.attach(model)
    hook.snapshot.load_state_dict(model.state_dict())
    hook.snapshot_iter, hook.alpha = 0, 0.5
    data = ToyDataset()
    batch = dict(inputs=[data[i]['inputs'] for i in range(4)], data_samples=[data[i]['data_samples'] for i in range(4)])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        data = model.data_preprocessor(batch, True)
        assert hook.provider.outputs.outputs.dtype == torch.bfloat16
        loss = model(**data, mode='loss')['loss_cls']
    assert loss.dtype == torch.float32 and hook.provider.outputs.served == 1
    hook.provider.end_step()
    hook.detach()
    assert model.loss_cls.provider is None and not model.data_preprocessor._forward_hooks


def test_a_snapshot_loss_that_never_saw_its_batch_stops_instead_of_training_on_labels():
    """A train_step that skips the data preprocessor gives the snapshot provider no batch: with a snapshot
    and α_t > 0 the loss's call is an error naming why, not a step on the labels alone."""
    from mmkd_plugin.engine.hooks.pskd_providers import SnapshotProvider
    snapshot = nn.Linear(2, 3)
    provider = SnapshotProvider(alpha=lambda: 0.5, snapshot=lambda: snapshot)
    with pytest.raises(RuntimeError, match=r"mode='snapshot'\) has not seen this batch.*labels alone"):
        provider.past(torch.zeros(4, 3))
    before = SnapshotProvider(alpha=lambda: 0.5, snapshot=lambda: None)  # first epoch: no snapshot yet
    assert before.past(torch.zeros(4, 3)).logits is None
