"""HARD's augmentor step with the teacher's gradient (the objective as written) against the former step with
the teacher under ``no_grad``, next to the student step, side by side in one run, with the peak memory of each.

    python tools/benchmarks/hard_augmentor_cost.py [CONFIG] [--size H W] [--batch N] [--iters K] [--threads T]

CONFIG defaults to the full-scale RetinaNet HARD config (random weights, nothing downloaded). Per round (after
one warm-up, ``mmkd_devtools.testing.timing.interleaved_rounds``): the student's own train step, the augmentor
step with ``augmentor_teacher_grad=True`` and with ``False`` (``HARDMixin.augmentor_gradients``: the forward of
both models on the warped batch and the backward to the augmentor). Prints medians, the two ratios of each
round's augmentor step to its student step, and the peak tensor memory of each (``peak_memory``).
"""
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile

os.environ.setdefault('KINETO_LOG_LEVEL', '6')
os.environ.setdefault('TORCH_CPP_LOG_LEVEL', 'ERROR')
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
DEFAULT = 'configs/hard/hard-affine_acam-kd_fpn_retina-r101_retina-r50_2x_coco.py'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from mmengine.optim import build_optim_wrapper

    from mmkd_devtools.testing import packed_batch_for
    from mmkd_devtools.testing.timing import interleaved_rounds, peak_memory, spread
    from mmkd_plugin.tools_common import read_config
    from tools.benchmarks.cost_cases import _build

    cfg = read_config(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        model = _build(cfg, tmp, tuple(args.size), 'cpu')
    if not hasattr(model, 'augmentor_gradients'):
        raise SystemExit(f'{args.config} is not a HARD config (its algorithm has no augmentor).')
    batch = packed_batch_for(model, tuple(args.size), tuple(args.size), args.batch, boxes_per_image=(3, 2))
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    student = model.architecture
    optim = build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper))

    def augmentor_step(teacher_grad: bool):
        def run():
            model.augmentor_teacher_grad = teacher_grad
            model.augmentor_gradients(data['inputs'], data['data_samples'])
        return run

    steps = {'student step': lambda: student.train_step(copy.deepcopy(batch), optim),
             'augmentor step, teacher with grad': augmentor_step(True),
             'augmentor step, teacher no_grad (former)': augmentor_step(False)}
    rounds = interleaved_rounds(steps, args.iters)
    peaks = {name: peak_memory(fn) for name, fn in steps.items()}
    print(f'{args.config} at {args.size[0]}x{args.size[1]}, batch {args.batch}, {torch.get_num_threads()} threads, '
          f'{args.iters} rounds')
    for name in steps:
        figure = spread(rounds[name])
        print(f'  {name:42s} median {figure["median"]:7.2f} s (min {figure["min"]:.2f}, max {figure["max"]:.2f})'
              f'  peak {peaks[name] / 2**20:8.0f} MB')
    base = rounds['student step']
    for name in list(steps)[1:]:
        ratio = spread([a / s for a, s in zip(rounds[name], base)])
        print(f'  {name} / student step: {ratio["median"]:.2f} (min {ratio["min"]:.2f}, max {ratio["max"]:.2f})')
    new, old = rounds['augmentor step, teacher with grad'], rounds['augmentor step, teacher no_grad (former)']
    ratio = spread([a / b for a, b in zip(new, old)])
    print(f'  teacher with grad / former: time {ratio["median"]:.2f}, peak memory '
          f'{peaks["augmentor step, teacher with grad"] / peaks["augmentor step, teacher no_grad (former)"]:.2f}')


if __name__ == '__main__':
    main()
