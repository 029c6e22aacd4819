"""The cost benchmark: per config, the distillation step against the student step plus the extra forward
that config runs, side by side in one run, with the peak memory of each.

    python tools/benchmarks/distill_overhead.py [CONFIG ...] [--size H W] [--batch N] [--iters K]
                                                [--threads T] [--device cpu|cuda] [--amp]
                                                [--out-dir DIR]

    # every config family of the project and MMRazor's CWD, PKD, MGD, FBKD (the default), CPU, 512x512:
    python tools/benchmarks/distill_overhead.py
    # full resolution on a GPU, fp16 autocast:
    python tools/benchmarks/distill_overhead.py --device cuda --size 800 1333 --amp

Per config (what is timed: ``tools/benchmarks/cost_cases.py``) the callables run in interleaved rounds
after one warm-up; the table gives the minimum wall-clock time of each, the peak tensor memory of each
(``mmkd_devtools.testing.timing.peak_memory``) and the ratio KD step / (student step + extra forward):
the cost of the distillation machinery and loss, 1.00 when it is free. Segmentation configs run at the
same size as detection ones (``--size``). ``DIR/cost.{json,md,png}`` keep the results.
"""
import argparse
import contextlib
import json
import logging
import os
import os.path as osp
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
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', help='configs (local or pkg::path); default: every family')
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3, help='timed rounds')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch intra-op threads (default: torch's)")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true',
                        help='autocast: fp16 on cuda, bf16 on cpu (what tools/train.py --amp runs)')
    parser.add_argument('--out-dir', default='work_dirs/benchmarks/cost')
    return parser.parse_args()


def quiet() -> None:
    """No per-parameter init report, no repeated library warnings: one line per config."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    warnings.filterwarnings('ignore')
    os.environ['PYTHONWARNINGS'] = 'ignore'


def measure(name: str, config: str, args: argparse.Namespace) -> dict:
    from cost_cases import build_case
    from mmkd_devtools.testing.timing import interleaved_timings, peak_memory
    size = tuple(args.size)
    with tempfile.TemporaryDirectory() as work_dir:
        case = build_case(osp.join(REPO, config) if '::' not in config else config, work_dir, size,
                          args.batch, args.device)
    dtype = torch.float16 if args.device == 'cuda' else torch.bfloat16
    amp = torch.autocast(args.device, dtype=dtype) if args.amp else contextlib.nullcontext()

    def under_amp(fn):
        def run():
            with amp:
                fn()
        return run

    steps = {k: under_amp(fn) for k, fn in case.steps.items()}
    timings = interleaved_timings(steps, args.iters)
    memory = {k: peak_memory(fn) / 2**20 for k, fn in steps.items()}
    wall = {k: v['wall min'] for k, v in timings.items()}
    ratio = wall[case.numerator] / sum(wall[d] for d in case.denominators)
    return dict(name=name, config=config, kind=case.kind, wall_s=wall, peak_mb=memory, ratio=ratio,
                denominators=case.denominators)


def markdown(rows: list, header: str) -> str:
    lines = [header, '',
             '| config | teacher runs | student step | extra forward | KD step | KD / (student + extra) '
             '| peak MB student / extra / KD |', '|---|---|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['name']} | failed: {r['error']} | | | | | |")
            continue
        w, m = r['wall_s'], r['peak_mb']
        extra = f"{w['extra forward']:.3f} s" if 'extra forward' in w else '–'
        extra_mb = f"{m['extra forward']:.0f}" if 'extra forward' in m else '–'
        lines.append(f"| {r['name']} | {r['kind']} | {w['student step']:.3f} s | {extra} | "
                     f"{w['KD step']:.3f} s | **{r['ratio']:.2f}** | {m['student step']:.0f} / {extra_mb} / "
                     f"{m['KD step']:.0f} |")
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
    ax1.barh(ys, [r['ratio'] for r in rows], color=colours)
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
              f'minimum of {args.iters} interleaved rounds after a warm-up, torch {torch.__version__}')
    print(header, flush=True)
    rows = []
    for name, config in configs.items():
        try:
            row = measure(name, config, args)
            print(f"  {name:<36} ratio {row['ratio']:.2f}  KD step {row['wall_s']['KD step']:.3f} s  "
                  f"peak {row['peak_mb']['KD step']:.0f} MB", flush=True)
        except Exception as e:  # one broken config must not hide the others' numbers
            row = dict(name=name, config=config, error=f'{type(e).__name__}: {e}'[:200])
            print(f'  {name:<36} FAILED {row["error"]}', flush=True)
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
