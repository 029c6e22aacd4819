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
import sys
import tempfile
from typing import Callable

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.hub import get_config
from mmengine.registry import DefaultScope, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

import mmkd_plugin  # noqa: E402,F401
from mmkd_plugin.testing import offline_model_cfg, packed_batch_for  # noqa: E402
from mmkd_plugin.testing.timing import interleaved_timings, print_timings, ratio  # noqa: E402
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
        batch = packed_batch_for(model, size, size, args.batch, boxes_per_image=(3, 2))
        student_optim = build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper))
        def teacher_forward():
            data = model.data_preprocessor(copy.deepcopy(batch), training=True)
            with torch.no_grad():
                if hasattr(model, 'run_teacher'):  # what the algorithm runs each step
                    model.run_teacher(data['inputs'], data['data_samples'])
                else:  # MMRazor's FpnTeacherDistill
                    teacher.extract_feat(data['inputs'])

        steps = {f'KD step [{i}]': time_config(m, c, batch) for i, (m, c) in enumerate(built)}
        if getattr(model, 'teacher_forward', None) == 'roi':
            steps['KD step [0]']()  # the student's RoIs for the teacher
        results = interleaved_timings({
            'student step': lambda: student.train_step(copy.deepcopy(batch), student_optim),
            'teacher forward': teacher_forward,
            **steps,
        }, args.iters)
    for i, config in enumerate(args.configs):
        print(f'[{i}] {osp.basename(config)}')
    print(f'input {size[0]}x{size[1]}, batch {args.batch}, {args.iters} interleaved rounds, '
          f'{torch.get_num_threads()} threads, cpu (ms)')
    print_timings(results, {
        f'ratio {name[-3:]}': ratio(name, ['student step', 'teacher forward'],
                                    'KD step / (student step + teacher forward)')
        for name in steps})


if __name__ == '__main__':
    main()
