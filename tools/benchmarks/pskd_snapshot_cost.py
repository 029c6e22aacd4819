"""Time a PS-KD snapshot-mode step against the plain student step, side by side.

    python tools/benchmarks/pskd_snapshot_cost.py [CONFIG] [--size H W] [--batch N] [--iters K]
                                                  [--device cpu|cuda]

For a PS-KD config (default: DeepLabV3-R18-d8 on Cityscapes) it builds the student offline (nothing
downloaded), attaches ``PSKDHook(mode='snapshot')`` with a snapshot taken, and times on one packed
batch, in interleaved rounds after one warm-up:

- student step: ``train_step`` with α = 0 (the hook skips the snapshot; the loss is the plain CE);
- snapshot forward: what the hook runs on the frozen snapshot per step, no gradient, eval mode
  (``mode='tensor'``; for Faster R-CNN the features only, its RoI head runs inside the loss);
- PS-KD step: ``train_step`` with α = 0.5 (snapshot forward + soft-target loss + student step).

The ratio PS-KD step / student step is the price of snapshot mode: one extra forward without
gradient (and without the backward); about 1.3 on CPU (configs/pskd/README.md). It prints the
minimum and the median of wall-clock and process CPU time; on a shared machine run it with
``OMP_NUM_THREADS=1`` and trust the minimum.
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmkd_plugin  # noqa: E402,F401
from mmkd_plugin.engine.hooks.pskd_hook import PSKDHook  # noqa: E402
from mmkd_plugin.testing import offline_model_cfg, packed_batch_for  # noqa: E402
from mmkd_plugin.testing.timing import interleaved_timings, print_timings, ratio  # noqa: E402

DEFAULT_CONFIG = osp.join(REPO, 'configs/pskd/pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG, help='a PS-KD config')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 256), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    size = tuple(args.size)
    with tempfile.TemporaryDirectory() as work_dir, \
            DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        student = MODELS.build(offline_model_cfg(cfg, work_dir, seg_size=size))
    student.init_weights()
    student.to(args.device).train()
    batch = packed_batch_for(student, size, size, args.batch, boxes_per_image=(3, 2))
    optim = build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper))
    hook = PSKDHook(mode='snapshot')
    hook.attach(student)
    hook.snapshot.load_state_dict(student.state_dict())
    hook.snapshot_iter = 0

    def step(alpha: float) -> None:
        hook.alpha = alpha
        student.train_step(copy.deepcopy(batch), optim)

    def snapshot_forward() -> None:  # what the hook runs per step (two-stage: features only)
        data = student.data_preprocessor(copy.deepcopy(batch), training=True)
        hook._snapshot_logits(data['inputs'], data['data_samples'])

    results = interleaved_timings({'student step': lambda: step(0.0),
                                   'snapshot forward': snapshot_forward,
                                   'PS-KD step': lambda: step(0.5)}, args.iters)
    print(f'{osp.basename(args.config)}  input {size[0]}x{size[1]}, batch {args.batch}, '
          f'{args.iters} interleaved rounds, {torch.get_num_threads()} threads, {args.device} (ms)')
    print_timings(results, {'ratio': ratio('PS-KD step', ['student step'], 'PS-KD step / student step')},
                  width=18)


if __name__ == '__main__':
    main()
