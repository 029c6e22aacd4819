"""The cost benchmark: per config, the distillation step against the student step plus the extra forward
that config runs, side by side in one run, with the peak memory of each.

    python tools/benchmarks/distill_overhead.py [CONFIG ...] [--size H W] [--batch N] [--iters K]
                                                [--threads T] [--device cpu|cuda] [--amp]
                                                [--out-dir DIR]

    # every config family of the project and MMRazor's CWD, PKD, MGD, FBKD (the default), CPU, 512x512:
    python tools/benchmarks/distill_overhead.py
    # full resolution on a GPU, fp16 autocast:
    python tools/benchmarks/distill_overhead.py --device cuda --size 800 1333 --amp

Per config (what is timed: ``tools/benchmarks/cost_cases.py``): the student step, the extra forward the
config runs and the KD step. Configs that share a student and a teacher (``cost_cases.pair_key``) share one
floor: one student step and one extra forward per kind, timed in the same interleaved rounds as all of their
KD steps, after one warm-up. The ratio KD step / (student step + extra forward) is taken within each round:
the cost of the distillation machinery and loss, 1.00 when it is free. The table gives each figure's median,
minimum and maximum over the rounds, the peak tensor memory of each step
(``mmkd_devtools.testing.timing.peak_memory``), and marks a ratio whose two halves of the rounds differ by
more than 0.03 as too noisy; the ratio of the minima (fastest KD step over the fastest floor) is given beside
it, the least disturbed estimate on a busy machine. Segmentation configs run at the same size as detection
ones (``--size``). ``DIR/cost.{json,md,png}`` keep the results.
"""
import argparse
import contextlib
import json
import logging
import os
import os.path as osp
import platform
import sys
import tempfile
import warnings

# The profiler that measures CPU memory would print two lines per use (kineto, the CPU allocator).
os.environ.setdefault('KINETO_LOG_LEVEL', '6')  # above USER (5): silent
os.environ.setdefault('TORCH_CPP_LOG_LEVEL', 'ERROR')
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

FAMILIES = {
    'ACAM-KD RetinaNet R101→R50': 'configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py',
    'ACAM-KD Faster R-CNN R101→R50': 'configs/acam_kd/acam-kd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
    'ACAM-KD RepPoints R101→R50': 'configs/acam_kd/acam-kd_fpn_reppoints-r101_reppoints-r50_2x_coco.py',
    'ACAM-KD DeepLabV3 R101→R18': 'configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
    'NKD RetinaNet R101→R50': 'configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py',
    'NKD Faster R-CNN R101→R50': 'configs/nkd/nkd_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
    'NKD DeepLabV3 R101→R18': 'configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',  # noqa: E501
    'USKD DeepLabV3 R18': 'configs/uskd/uskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'PS-KD RetinaNet R50': 'configs/pskd/pskd_retina-r50_1x_coco.py',
    'PS-KD DeepLabV3 R18': 'configs/pskd/pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'MMRazor CWD RetinaNet R101→R50': 'mmrazor::distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py',
    'MMRazor PKD Faster R-CNN R101→R50': 'mmrazor::distill/mmdet/pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py',  # noqa: E501
    'MMRazor MGD RetinaNet X101→R50': 'mmrazor::distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py',
    'MMRazor FBKD Faster R-CNN R101→R50': 'mmrazor::distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_faster-rcnn_r50_1x_coco.py',  # noqa: E501
}


def parse_args() -> argparse.Namespace:
    from mmkd_plugin.tool_paths import path_arg
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', type=path_arg('config'),
                        help='configs (local or pkg::path); default: every family')
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=6, help='timed rounds (halves compared for noise)')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch intra-op threads (default: torch's)")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true',
                        help='autocast: fp16 on cuda, bf16 on cpu (what tools/train.py --amp runs)')
    parser.add_argument('--out-dir', default='work_dirs/benchmarks/cost')
    return parser.parse_args()


def cpu_model() -> str:
    """The processor's name (``/proc/cpuinfo``), where Linux says it."""
    try:
        with open('/proc/cpuinfo') as f:
            return next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), '')
    except OSError:
        return ''


def quiet() -> None:
    """No per-parameter init report, no repeated library warnings: one line per config."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    warnings.filterwarnings('ignore')
    os.environ['PYTHONWARNINGS'] = 'ignore'


NOISE_TOL = 0.03  # two halves of the rounds must give ratios this close, or the machine is too noisy


def group_configs(configs: dict) -> list:
    """``configs`` ({name: config}) in groups that share a student and a teacher (``pair_key``), in order."""
    from cost_cases import pair_key
    groups = {}
    for name, config in configs.items():
        try:
            key = pair_key(osp.join(REPO, config) if '::' not in config else config)
        except Exception as e:  # reported when the group is measured
            key = ('unreadable', name, str(e))
        groups.setdefault(key, {})[name] = config
    return list(groups.values())


def _ratios(rounds: dict, numerator: str, denominators: list) -> list:
    return [n / sum(rounds[d][r] for d in denominators) for r, n in enumerate(rounds[numerator])]


def measure_group(configs: dict, args: argparse.Namespace) -> list:
    """One row per config of a group that shares a student and teacher: one student step and one extra
    forward per kind (the floor), every config's KD step, all timed in the same interleaved rounds."""
    from cost_cases import build_case
    from mmkd_devtools.testing.timing import interleaved_rounds, peak_memory, spread
    size = tuple(args.size)
    dtype = torch.float16 if args.device == 'cuda' else torch.bfloat16

    def under_amp(fn):
        def run():
            with torch.autocast(args.device, dtype=dtype) if args.amp else contextlib.nullcontext():
                fn()
        return run

    steps, rows = {}, []
    for name, config in configs.items():
        try:
            with tempfile.TemporaryDirectory() as work_dir:
                case = build_case(osp.join(REPO, config) if '::' not in config else config, work_dir, size,
                                  args.batch, args.device)
        except Exception as e:  # one broken config must not hide the others' numbers
            rows.append(dict(name=name, config=config, error=f'{type(e).__name__}: {e}'[:200]))
            continue
        steps.setdefault('student step', under_amp(case.steps['student step']))
        denominators = ['student step']
        if 'extra forward' in case.steps:
            steps.setdefault(f'extra forward: {case.extra}', under_amp(case.steps['extra forward']))
            denominators.append(f'extra forward: {case.extra}')
        steps[f'KD step: {name}'] = under_amp(case.steps['KD step'])
        rows.append(dict(name=name, config=config, kind=case.kind, denominators=denominators))
    if not steps:
        return rows
    rounds = interleaved_rounds(steps, args.iters)
    memory = {k: peak_memory(fn) / 2**20 for k, fn in steps.items()}
    half = args.iters // 2
    for row in rows:
        if 'error' in row:
            continue
        kd = f"KD step: {row['name']}"
        ratios = _ratios(rounds, kd, row['denominators'])
        parts = {'student step': 'student step', 'KD step': kd}
        if len(row['denominators']) > 1:
            parts['extra forward'] = row['denominators'][1]
        halves = [spread(ratios[:half])['median'], spread(ratios[half:])['median']] if half else []
        floor = sum(min(rounds[d]) for d in row['denominators'])
        row.update(wall_s={k: spread(rounds[v]) for k, v in parts.items()}, ratio_of_minima=min(rounds[kd]) / floor,
                   peak_mb={k: memory[v] for k, v in parts.items()},
                   ratio=spread(ratios), ratio_rounds=ratios, ratio_halves=halves,
                   noisy=bool(halves) and abs(halves[0] - halves[1]) > NOISE_TOL,
                   floor_shared_with=[r['name'] for r in rows if r is not row and 'error' not in r])
    return rows


def _s(figure: dict) -> str:
    return f"{figure['median']:.3f} s ({figure['min']:.3f}–{figure['max']:.3f})"


def markdown(rows: list, header: str) -> str:
    lines = [header, '',
             '| config | teacher runs | student step | extra forward | KD step | KD / (student + extra), '
             'median (min–max) | ratio of the minima | peak MB student / extra / KD |',
             '|---|---|---|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['name']} | failed: {r['error']} | | | | | | |")
            continue
        w, m, q = r['wall_s'], r['peak_mb'], r['ratio']
        extra = _s(w['extra forward']) if 'extra forward' in w else '–'
        extra_mb = f"{m['extra forward']:.0f}" if 'extra forward' in m else '–'
        noisy = ' (too noisy)' if r['noisy'] else ''
        lines.append(f"| {r['name']} | {r['kind']} | {_s(w['student step'])} | {extra} | {_s(w['KD step'])} | "
                     f"**{q['median']:.2f}** ({q['min']:.2f}–{q['max']:.2f}){noisy} | {r['ratio_of_minima']:.2f} | "
                     f"{m['student step']:.0f} / {extra_mb} / {m['KD step']:.0f} |")
    lines += ['', 'Each time: median (min–max) over the rounds. Configs that share a student and a teacher share '
              'one student step and one extra forward per kind, timed in the same rounds as all their KD steps; '
              'each ratio is taken within a round. "too noisy": the two halves of the rounds give ratios more '
              f'than {NOISE_TOL} apart. The ratio of the minima (fastest KD step over the fastest student step plus '
              'extra forward) is the least disturbed estimate when the machine is noisy.']
    return '\n'.join(lines) + '\n'


def plot(rows: list, path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in rows if 'error' not in r]
    if not rows:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.35 * len(rows) + 1.8), dpi=110, sharey=True)
    ys = range(len(rows))
    colours = ['tab:orange' if r['name'].startswith('MMRazor') else 'tab:blue' for r in rows]
    ax1.barh(ys, [r['ratio']['median'] for r in rows], color=colours)
    ax1.axvline(1.0, color='0.3', linewidth=0.8)
    ax1.set_xlabel('KD step / (student step + extra forward)')
    ax2.barh(ys, [r['peak_mb']['KD step'] for r in rows], color=colours, label='KD step')
    ax2.barh(ys, [r['peak_mb']['student step'] for r in rows], color='0.6', height=0.4, label='student step')
    ax2.set_xlabel('peak tensor memory (MB)')
    ax2.legend(fontsize=7)
    ax1.set_yticks(list(ys), [r['name'] for r in rows], fontsize=7)
    ax1.invert_yaxis()
    fig.suptitle(title + '   (orange: MMRazor\'s own configs)', fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    quiet()
    import mmkd_plugin  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = {osp.basename(c): c for c in args.configs} if args.configs else FAMILIES
    device = torch.cuda.get_device_name() if args.device == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    header = (f"{args.size[0]}x{args.size[1]}, batch {args.batch}, {device}, "
              f"{'autocast ' + ('fp16' if args.device == 'cuda' else 'bf16') if args.amp else 'fp32'}, "
              f'{args.iters} interleaved rounds after a warm-up, torch {torch.__version__}, '
              f'{platform.processor() or platform.machine()} {cpu_model()}')
    print(header, flush=True)
    rows = []
    for group in group_configs(configs):
        for row in measure_group(group, args):
            if 'error' in row:
                print(f"  {row['name']:<36} FAILED {row['error']}", flush=True)
            else:
                q = row['ratio']
                print(f"  {row['name']:<36} ratio {q['median']:.2f} ({q['min']:.2f}-{q['max']:.2f}), of the minima "
                      f"{row['ratio_of_minima']:.2f}  KD step "
                      f"{row['wall_s']['KD step']['median']:.3f} s  peak {row['peak_mb']['KD step']:.0f} MB",
                      flush=True)
                if row['noisy']:
                    print(f"  {'':<36} the machine is too noisy for this ratio: the two halves of the rounds give "
                          f"{row['ratio_halves'][0]:.3f} and {row['ratio_halves'][1]:.3f} (more than {NOISE_TOL} "
                          'apart); rerun on idle cores or with more --iters', flush=True)
            rows.append(row)
        if args.device == 'cuda':
            torch.cuda.empty_cache()
    out = osp.join(REPO, args.out_dir)
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'cost.json'), 'w') as f:
        json.dump(dict(setting=header, rows=rows), f, indent=2)
    table = markdown(rows, header)
    with open(osp.join(out, 'cost.md'), 'w') as f:
        f.write(table)
    plot(rows, osp.join(out, 'cost.png'), header)
    print(table)


if __name__ == '__main__':
    main()
