"""MCMI teacher fine-tuning through the real Runner on the generated Cityscapes set.

- the hook's centroids equal the per-class mean softmax of the loaded teacher computed here, independently,
  over the training set (valid pixels of the 1/8 logits); they stay fixed during fine-tuning;
- a resumed run restores them without a new pass and ends where the uninterrupted run ends;
- the export is a plain segmentor checkpoint that loads strictly as a teacher;
- tools/teacher_cmi.py: fine-tuning with the MCMI term leaves a higher CMI than the same fine-tuning
  without it (lambda = 0).
"""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope, MODELS

from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
from mmkd_plugin.models.utils import load_teacher_checkpoint
from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import REPO, SEG_TEACHER_CFG, logged_scalars, run, seg_runner_cfg

MCMI_CFG = osp.join(REPO, 'tools', 'benchmarks', 'suites', 'tiny_cityscapes',
                    'mcmi_deeplabv3-r18_synthetic-cityscapes.py')
NUM_CLASSES = 19


def deterministic_pipeline(cfg: Config) -> None:
    """The training pipeline without its random resize, crop and flip, so that a pass is reproducible."""
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
    cfg.train_dataloader.batch_size = 2


def mcmi_cfg(work_dir, data_root, teacher, iters, **overrides) -> Config:
    cfg = seg_runner_cfg(MCMI_CFG, str(work_dir), data_root, iters, **overrides)
    deterministic_pipeline(cfg)
    cfg.model.teacher_ckpt = teacher
    cfg.randomness = dict(seed=0)  # the same sampler order in every run
    cfg.model.architecture.decode_head.dropout_ratio = 0  # as in the PS-KD resume test: torch's RNG is
    cfg.model.architecture.auxiliary_head.dropout_ratio = 0  # re-seeded on resume, not restored
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
    return cfg


def plain_teacher(ckpt):
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(Config.fromfile(SEG_TEACHER_CFG).model)
    load_teacher_checkpoint(teacher, ckpt)
    return teacher.eval()


@torch.no_grad()
def reference_centroids(teacher, dataset) -> np.ndarray:
    """Per-class mean softmax of the decode head's logits over every valid pixel, labels taken every 8 pixels."""
    sums = np.zeros((NUM_CLASSES, NUM_CLASSES))
    counts = np.zeros(NUM_CLASSES)
    for i in range(len(dataset)):
        data = teacher.data_preprocessor(pseudo_collate([dataset[i]]), False)
        logits = teacher.decode_head(teacher.extract_feat(data['inputs']))[0].double()  # (19, h, w)
        labels = data['data_samples'][0].gt_sem_seg.data[0]
        step = labels.shape[0] // logits.shape[1]
        labels = labels[::step, ::step].reshape(-1).numpy()
        probs = torch.softmax(logits, dim=0).reshape(NUM_CLASSES, -1).T.numpy()
        for y in range(NUM_CLASSES):
            sums[y] += probs[labels == y].sum(axis=0)
            counts[y] += (labels == y).sum()
    seen = counts > 0
    centroids = np.full((NUM_CLASSES, NUM_CLASSES), 1.0 / NUM_CLASSES)
    centroids[seen] = sums[seen] / counts[seen, None]
    return centroids


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('mcmi') / 'teacher.pth')
    torch.manual_seed(0)  # the same random teacher whatever ran before
    return write_random_teacher(Config.fromfile(MCMI_CFG).model, path, 'architecture')


@pytest.fixture(scope='module')
def full_run(tmp_path_factory, synthetic_cityscapes, teacher_ckpt):
    work_dir = tmp_path_factory.mktemp('mcmi_full')
    return run(mcmi_cfg(work_dir, synthetic_cityscapes['data_root'], teacher_ckpt, 4)), str(work_dir)


def mcmi_loss(runner):
    return runner.model.distiller.distill_losses['loss_mcmi']


def test_centroids_are_the_loaded_teachers_class_means_and_stay_fixed(full_run, teacher_ckpt):
    runner, work_dir = full_run
    expected = reference_centroids(plain_teacher(teacher_ckpt), runner.train_dataloader.dataset)
    centroids = mcmi_loss(runner).centroids.double().numpy()
    np.testing.assert_allclose(centroids, expected, rtol=1e-4, atol=1e-7)
    saved = safe_torch_load(osp.join(work_dir, 'iter_2.pth'), map_location='cpu')['state_dict']
    key = 'distiller.distill_losses.loss_mcmi.centroids'
    torch.testing.assert_close(saved[key], mcmi_loss(runner).centroids)
    assert bool(saved['distiller.distill_losses.loss_mcmi.centroids_ready'])
    losses = [r['distill.loss_mcmi'] for r in logged_scalars(work_dir)]
    assert len(losses) == 4 and all(v < 0 for v in losses)


def test_resume_restores_the_centroids_without_a_pass(full_run, tmp_path, synthetic_cityscapes, teacher_ckpt):
    full, _ = full_run
    data_root = synthetic_cityscapes['data_root']
    run(mcmi_cfg(tmp_path, data_root, teacher_ckpt, 2))
    resumed = run(mcmi_cfg(tmp_path, data_root, teacher_ckpt, 4, resume=True))
    hook = next(h for h in resumed.hooks if type(h).__name__ == 'MCMICentroidHook')
    assert hook.cmi is None  # set only by a pass
    torch.testing.assert_close(mcmi_loss(resumed).centroids, mcmi_loss(full).centroids)
    full_state = full.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, full_state[key], rtol=1e-5, atol=1e-6, msg=key)


def test_export_is_a_teacher_checkpoint_that_changed(full_run, teacher_ckpt):
    _, work_dir = full_run
    tuned = plain_teacher(osp.join(work_dir, 'iter_4_student.pth'))  # strict: raises on any mismatch
    original = plain_teacher(teacher_ckpt)
    weight = 'decode_head.conv_seg.weight'
    assert not torch.equal(tuned.state_dict()[weight], original.state_dict()[weight])


@pytest.mark.numerics
def test_the_mcmi_term_raises_the_teachers_cmi(tmp_path, synthetic_cityscapes, teacher_ckpt):
    data_root = synthetic_cityscapes['data_root']
    exports = {}
    for weight in (0.0, 100.0):  # Adam: the weight sets the direction (CE or mostly the MCMI term)
        work_dir = tmp_path / f'w{weight}'
        cfg = mcmi_cfg(work_dir, data_root, teacher_ckpt, 6)
        cfg.model.distiller.distill_losses.loss_mcmi.loss_weight = weight
        cfg.optim_wrapper.optimizer.lr = 1e-3
        run(cfg)
        exports[weight] = str(work_dir / 'iter_6_student.pth')
    config = tmp_path / 'mcmi.py'
    probe = mcmi_cfg(tmp_path / 'probe', data_root, teacher_ckpt, 1)
    probe.dump(str(config))
    out = tmp_path / 'cmi.json'
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'teacher_cmi.py'), str(config), teacher_ckpt,
                    exports[0.0], exports[100.0], '--out', str(out)], check=True, cwd=REPO)
    before, plain, mcmi = (r['cmi'] for r in json.load(open(out))['results'])
    assert mcmi > plain and mcmi > before, (before, plain, mcmi)
