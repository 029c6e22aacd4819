"""One training step of each method's full-scale configs at full resolution, in fp32 and with ``--amp``.

    python tools/benchmarks/full_scale_steps.py [CONFIG ...] [--all] [--device cuda|cpu]
                                                [--det-size 800 1333] [--seg-size 512 1024] [--batch 2]
                                                [--amp-configs K] [--json FILE]

What a user's first iteration on a GPU runs, offline: each config's model built with random weights (a
distillation teacher from a checkpoint of its own random weights, loaded strictly), one packed batch of
``--batch`` images at the config's dataset resolution (COCO 800x1333, Cityscapes 512x1024), and one
``train_step`` with the config's optimiser wrapper, then one with the wrapper ``tools/train.py --amp`` builds
(fp16 ``AmpOptimWrapper`` with dynamic loss scaling on a GPU, bf16 autocast on CPU). Per step: every loss
finite, the wall time of the step (the first of the case's KD step, so cuDNN's choice of kernels included; a
two-stage case has run the teacher's RoI forward once while it was built), and the peak tensor memory above what the
model, its optimiser state and the batch hold (``torch.cuda.max_memory_allocated``; on CPU none). The default
configs are one detection and one segmentation config per method (``DEFAULT``); ``--all`` takes every config under
``configs/`` of a method.
"""
import argparse
import gc
import glob
import json
import logging
import os
import os.path as osp
import sys
import tempfile
import time
import warnings

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# One detection and one segmentation config per method (USKD has no detection config), and a two-stage one.
# The first seven: one per method and the two-stage one, which the GPU check also steps under --amp
# (tools/gpu_check.py passes --amp-configs 7).
DEFAULT = [
    'configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py',
    # two-stage: the RPN's nms and RoIAlign in fp16 run on the GPU only (mmcv's CPU kernels take float32)
    'configs/acam_kd/acam-kd_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py',
    'configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py',
    'configs/uskd/uskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'configs/pskd/pskd_retina-r50_1x_coco.py',
    'configs/mcmi/mcmi_retinanet-r101_2e-ft_coco.py',
    'configs/hard/hard-affine_acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'configs/pskd/pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
    'configs/mcmi/mcmi_deeplabv3-r101-d8_8k-ft_cityscapes-512x1024.py',
    'configs/hard/hard-affine_acam-kd_fpn_retina-r101_retina-r50_2x_coco.py',
]
METHODS = ('acam_kd', 'nkd', 'uskd', 'pskd', 'mcmi', 'hard')


def is_segmentation(config: str) -> bool:
    """Whether the config trains a segmentor (a Cityscapes config: its dataset's resolution applies)."""
    from mmkd_devtools.testing.smoke import SEG_TYPES, student_type
    from mmkd_plugin.tools_common import read_config
    return student_type(read_config(config).model) in SEG_TYPES


def one_step(config: str, size, batch: int, device: str, amp: bool) -> dict:
    """Build ``config``'s case at ``size`` and run its distillation step once; the step's figures."""
    from cost_cases import build_case
    with tempfile.TemporaryDirectory() as work_dir:
        case = build_case(osp.join(REPO, config), work_dir, tuple(size), batch, device, amp=amp)
    step = case.steps['KD step']
    base = 0
    if device == 'cuda':
        gc.collect()  # the previous case's tensors (recorder hooks may hold cycles) gone before the reset
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()  # the model, its optimiser state and the batch
    wall = time.perf_counter()
    log_vars = step()
    if device == 'cuda':
        torch.cuda.synchronize()
    row = dict(wall_s=round(time.perf_counter() - wall, 3),
               peak_mb=round((torch.cuda.max_memory_allocated() - base) / 2**20) if device == 'cuda' else None)
    losses = {k: float(v) for k, v in log_vars.items() if 'loss' in k}
    row['losses'] = {k: round(v, 5) for k, v in losses.items()}
    row['finite'] = all(torch.isfinite(torch.tensor(v)).item() for v in losses.values())
    return row


def main() -> None:
    from mmkd_plugin.tool_paths import path_arg
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', type=path_arg('config'), help='default: DEFAULT (--all: every one)')
    parser.add_argument('--all', action='store_true', help="every config of the methods' folders")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--det-size', type=int, nargs=2, default=(800, 1333), metavar=('H', 'W'))
    parser.add_argument('--seg-size', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--amp-configs', type=int, default=None, metavar='K',
                        help='the --amp step for the first K configs only (default: every config)')
    parser.add_argument('--json', help='write the rows to this file')
    args = parser.parse_args()
    from mmengine.logging import MMLogger
    import mmkd_plugin  # noqa: F401
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    warnings.filterwarnings('ignore')
    if args.configs:
        configs = args.configs
    elif args.all:
        configs = sorted(c for m in METHODS for c in glob.glob(osp.join('configs', m, '*.py')))
    else:
        configs = DEFAULT
    rows = []
    for i, config in enumerate(configs):
        amp_too = args.amp_configs is None or i < args.amp_configs
        for amp in (False, True) if amp_too else (False,):
            row = dict(config=osp.relpath(config, REPO) if osp.isabs(config) else config,
                       precision='amp' if amp else 'fp32')
            try:
                size = args.seg_size if is_segmentation(config) else args.det_size
                row.update(size=list(size), **one_step(config, size, args.batch, args.device, amp))
            except Exception as e:  # one config's failure must not hide the others'
                row.update(error=f'{type(e).__name__}: {e}'[:300])
            if args.device == 'cuda':
                torch.cuda.empty_cache()
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    failed = [r for r in rows if 'error' in r or r.get('finite') is False]
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
