"""Time distillation steps against the student step plus the teacher forward, side by side.

    python tools/benchmarks/distill_overhead.py [CONFIG ...] [--size H W] [--batch N] [--iters K]
                                                [--threads T]

    # ACAM-KD next to MMRazor's own CWD config, RetinaNet R101 -> R50, 512x512, batch 2:
    python tools/benchmarks/distill_overhead.py \
        configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py \
        mmrazor::distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py --size 512 512

The configs must share the student and the teacher (the first config's are timed alone). Default:
NKD, DeepLabV3-R101 -> DeepLabV3-R18 on Cityscapes. Each model is built offline (random teacher
weights, nothing downloaded; an MMRazor config is built with its own algorithm, its teacher checkpoint
and pretrained flags cleared) and timed on one packed batch:

- student step: the student alone, ``train_step`` (forward with loss, backward, SGD update);
- teacher forward: the teacher's forward as the algorithm runs it, without gradient (``'feat'``:
  ``extract_feat``; ``'tensor'``/``'loss'``: that mode; ``RoITeacherDistill``: ``extract_feat`` and
  the RoI head on the student's RoIs of the last KD step);
- KD step: each config's distillation ``train_step`` (teacher forward, student step, recorders,
  KD loss).

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
from mmengine.hub import get_config
from mmengine.registry import DefaultScope, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmkd_plugin  # noqa: E402,F401
from mmkd_plugin.testing import offline_model_cfg, packed_det_batch, packed_seg_batch  # noqa: E402
from mmrazor.registry import MODELS as RAZOR_MODELS  # noqa: E402

MMKD_ALGORITHMS = ('TeacherDistill', 'ACAMKDDistill', 'RoITeacherDistill')

DEFAULT_CONFIG = osp.join(
    REPO, 'configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', default=[DEFAULT_CONFIG],
                        help='distillation configs (local paths or pkg::path)')
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


def build_offline(config: str, work_dir: str, size) -> torch.nn.Module:
    """A distillation model of ``config`` built without network or checkpoints."""
    cfg = Config.fromfile(config) if '::' not in config else get_config(config)
    if 'teacher' not in cfg.model:
        raise SystemExit(f'{config} has no teacher; give a distillation config.')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'mmrazor'):
        if cfg.model.type in MMKD_ALGORITHMS:
            model = MODELS.build(offline_model_cfg(cfg, work_dir, seg_size=size))
            model.init_weights()
        else:  # an MMRazor config: its own algorithm, nothing loaded (random weights)
            model_cfg = copy.deepcopy(cfg.model)
            model_cfg.teacher_ckpt = None
            for part in ('architecture', 'teacher'):
                model_cfg[part].pretrained = False
            model = RAZOR_MODELS.build(model_cfg)
    model.train()
    return model, cfg


def time_config(model, cfg, batch) -> Callable[[], object]:
    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    return lambda: model.train_step(copy.deepcopy(batch), optim)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    size = tuple(args.size)
    with tempfile.TemporaryDirectory() as work_dir:
        built = [build_offline(config, work_dir, size) for config in args.configs]
        model, cfg = built[0]
        student, teacher = model.architecture, model.teacher
        if hasattr(student, 'decode_head'):
            batch = packed_seg_batch(size, args.batch, num_classes=student.decode_head.num_classes)
        else:
            batch = packed_det_batch(size, args.batch, boxes_per_image=(3, 2))
        student_optim = build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper))
        teacher_forward_mode = getattr(model, 'teacher_forward', 'feat')

        def teacher_forward():
            data = model.data_preprocessor(copy.deepcopy(batch), training=True)
            with torch.no_grad():
                if teacher_forward_mode == 'feat':
                    teacher.extract_feat(data['inputs'])
                elif teacher_forward_mode == 'roi':
                    rois = model.student_rois.get_recorder('rois').get_record_data(0, 1)
                    teacher.roi_head._bbox_forward(teacher.extract_feat(data['inputs']), rois.detach())
                else:
                    mode = 'loss' if teacher_forward_mode == 'loss' else 'tensor'
                    teacher(data['inputs'], data['data_samples'], mode=mode)

        steps = {f'KD step [{i}]': time_config(m, c, batch) for i, (m, c) in enumerate(built)}
        if teacher_forward_mode == 'roi':
            steps['KD step [0]']()  # the student's RoIs for the teacher
        results = interleaved_timings({
            'student step': lambda: student.train_step(copy.deepcopy(batch), student_optim),
            'teacher forward': teacher_forward,
            **steps,
        }, args.iters)
    for i, config in enumerate(args.configs):
        print(f'[{i}] {osp.basename(config)}')
    columns = list(results['student step'])
    print(f'input {size[0]}x{size[1]}, batch {args.batch}, {args.iters} interleaved rounds, '
          f'{torch.get_num_threads()} threads, cpu (ms)')
    print(f'  {"":<16}' + ''.join(f'{c:>13}' for c in columns))
    for name, row in results.items():
        print(f'  {name:<16}' + ''.join(f'{row[c] * 1000:13.1f}' for c in columns))
    for name in steps:
        ratios = [results[name][c] / (results['student step'][c] + results['teacher forward'][c])
                  for c in columns]
        print(f'  {"ratio " + name[-3:]:<16}' + ''.join(f'{r:13.3f}' for r in ratios)
              + '   KD step / (student step + teacher forward)')


if __name__ == '__main__':
    main()
