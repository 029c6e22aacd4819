"""Time a logit-distillation step against the student step plus the teacher forward, side by side.

    python tools/benchmarks/logit_kd_overhead.py [CONFIG] [--size H W] [--batch N] [--iters K]
                                                 [--threads T]

For a distillation config (default: NKD, DeepLabV3-R101 -> DeepLabV3-R18 on Cityscapes) it builds the
model offline (random teacher weights, nothing downloaded) and times, on one packed batch:

- student step: the student alone, ``train_step`` (forward with loss, backward, SGD update);
- teacher forward: the teacher's forward as the algorithm runs it, without gradient (``'feat'``:
  ``extract_feat``; ``'tensor'``/``'loss'``: that mode; ``RoITeacherDistill``: ``extract_feat`` and
  the RoI head on the student's RoIs of the last KD step);
- KD step: the distillation ``train_step`` (teacher forward, student step, recorders, KD loss).

It prints the minimum and the median (wall clock and process CPU time) of ``--iters`` interleaved
rounds after one warm-up, and the ratio KD step / (student step + teacher forward): the cost of the
distillation machinery and loss. On a shared machine trust the minima.
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmkd_plugin  # noqa: E402,F401
from mmkd_plugin.testing import offline_model_cfg, packed_det_batch, packed_seg_batch  # noqa: E402

DEFAULT_CONFIG = osp.join(
    REPO, 'configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG, help='a distillation config')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 256), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch\'s). With 1 thread the CPU time '
                        'is not inflated by threads spinning while the machine is busy')
    return parser.parse_args()


def interleaved_timings(fns: Dict[str, Callable[[], object]],
                        iters: int) -> Dict[str, Dict[str, float]]:
    """Wall and CPU seconds of each function over ``iters`` rounds that run them in turn.

    Returns, per function, the minimum and the median of the wall-clock time and of the process CPU
    time (all threads). Interleaving spreads drift in the machine's load evenly over the
    measurements; on a shared machine the minimum is the least disturbed estimate of the cost.
    """
    for fn in fns.values():
        fn()  # warm-up: allocator, lazily built anchors, etc.
    times = {name: ([], []) for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return {name: {'wall min': min(w), 'wall median': statistics.median(w),
                   'CPU min': min(c), 'CPU median': statistics.median(c)}
            for name, (w, c) in times.items()}


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if 'teacher' not in cfg.model:
        raise SystemExit(f'{args.config} has no teacher; give a distillation config.')
    size = tuple(args.size)
    with tempfile.TemporaryDirectory() as work_dir, \
            DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        model = MODELS.build(offline_model_cfg(cfg, work_dir, seg_size=size))
        model.init_weights()
        model.train()
        student, teacher = model.architecture, model.teacher
        if hasattr(student, 'decode_head'):
            batch = packed_seg_batch(size, args.batch, num_classes=student.decode_head.num_classes)
        else:
            batch = packed_det_batch(size, args.batch, boxes_per_image=(3, 2))
        kd_optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        student_optim = build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper))

        def teacher_forward():
            data = model.data_preprocessor(copy.deepcopy(batch), training=True)
            with torch.no_grad():
                if model.teacher_forward == 'feat':
                    teacher.extract_feat(data['inputs'])
                elif model.teacher_forward == 'roi':
                    rois = model.student_rois.get_recorder('rois').get_record_data(0, 1)
                    teacher.roi_head._bbox_forward(teacher.extract_feat(data['inputs']), rois.detach())
                else:
                    mode = 'loss' if model.teacher_forward == 'loss' else 'tensor'
                    teacher(data['inputs'], data['data_samples'], mode=mode)

        if model.teacher_forward == 'roi':
            model.train_step(copy.deepcopy(batch), kd_optim)  # the student's RoIs for the teacher
        results = interleaved_timings({
            'student step': lambda: student.train_step(copy.deepcopy(batch), student_optim),
            'teacher forward': teacher_forward,
            'KD step': lambda: model.train_step(copy.deepcopy(batch), kd_optim),
        }, args.iters)
    columns = list(results['KD step'])
    print(f'{osp.basename(args.config)}  input {size[0]}x{size[1]}, batch {args.batch}, '
          f'{args.iters} interleaved rounds, {torch.get_num_threads()} threads, cpu (ms)')
    print(f'  {"":<16}' + ''.join(f'{c:>13}' for c in columns))
    for name, row in results.items():
        print(f'  {name:<16}' + ''.join(f'{row[c] * 1000:13.1f}' for c in columns))
    ratios = [results['KD step'][c] / (results['student step'][c] + results['teacher forward'][c])
              for c in columns]
    print(f'  {"ratio":<16}' + ''.join(f'{r:13.3f}' for r in ratios)
          + '   KD step / (student step + teacher forward)')


if __name__ == '__main__':
    main()
