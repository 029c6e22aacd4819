"""Which mmdet/mmseg model families tools/distill.py pairs: docs/coverage.md, measured.

    python tools/benchmarks/distill_coverage.py [--families atss,yolox] [--out docs/coverage.md]

For every detector family of mmdet 3.3 (a folder of its configs) and every segmentor family of mmseg
1.2.2, a stock pair is chosen by the sizes in the config names: the smallest model as the student and the
largest as the teacher (``r50`` < ``r101`` < ``x101``; ``tiny`` < ``s`` < ``m`` < ``l`` < ``x``; Swin,
MiT, ConvNeXt sizes), COCO configs first for mmdet, Cityscapes then ADE20K for mmseg, both of one dataset.
A family that ships one size is paired with itself. For each pair and method (ACAM-KD, CWD) the config is
generated (``tools/distill.py``'s ``generate``), built with random weights and stepped once at the test
suite's tiny input size (``mmkd_devtools.testing.smoke_train_step``; detection 96 x 128, tried again at 256 x 320
on an error): ✓, or the first line of the reason.
Not a test: it takes tens of minutes on 2 cores. Folders that are not detector families (tracking,
re-identification, dataset variants of other families' models, examples) are listed as left out.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore')
import argparse
import glob
import json
import logging
import os
import os.path as osp
import re
import signal
import sys
import tempfile
import time

os.environ.setdefault('HF_HUB_OFFLINE', '1')  # language-model families must not reach a hub
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

import mmkd_plugin  # noqa: E402, F401
from mmkd_plugin.pairing import PairingError  # noqa: E402
from mmkd_plugin.pairing.probe import PROBE_SIZE, first_line  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools'))
from mmkd_devtools.testing import smoke_train_step  # noqa: E402
from distill import generate  # noqa: E402

METHODS = ('acam_kd', 'cwd')
RETRY_DET_SIZE = (256, 320)  # the second try's detection input (DINO's 900 queries need 900 positions)
# Folders of mmdet's configs that are not detector families, and why.
MMDET_LEFT_OUT = {
    **{name: 'not a detector (tracking / re-identification)' for name in (
        'bytetrack', 'deepsort', 'ocsort', 'qdtrack', 'sort', 'strongsort', 'masktrack_rcnn', 'mask2former_vis',
        'reid')},
    **{name: "a dataset's configs for other families' detectors" for name in (
        'cityscapes', 'deepfashion', 'lvis', 'objects365', 'openimages', 'pascal_voc', 'wider_face', 'v3det')},
    **{name: 'shared bases, examples or training recipes, not a family' for name in (
        '_base_', 'common', 'misc', 'legacy_1.x', 'dsdl', 'albu_example', 'simple_copy_paste', 'strong_baselines',
        'selfsup_pretrain', 'scratch', 'timm_example', 'resnet_strikes_back', 'instaboost', 'soft_teacher')},
}
MMSEG_LEFT_OUT = {'_base_': 'shared bases', 'dsdl': 'a dataset format example'}
# Families whose size rule picks a config that does not train on images alone: Fast R-CNN variants read
# precomputed proposals, cascade_rpn's plain config is a proposal network, pisa's smallest is SSD300 (below).
PAIRS = {
    'libra_rcnn': ('libra-faster-rcnn_r50_fpn_1x_coco.py', 'libra-faster-rcnn_x101-64x4d_fpn_1x_coco.py'),
    'cascade_rpn': ('cascade-rpn_faster-rcnn_r50-caffe_fpn_1x_coco.py',) * 2,
    # the size rule's r18 is the original CenterNet (one stride-4 map, no FPN), its r101 CenterNet-Update
    # (FPN from stride 8): no stride in common (tools/distill.py refuses, tested); the FPN models' sizes instead
    'centernet': ('centernet-update_r18_fpn_8xb8-amp-lsj-200e_coco.py',
                  'centernet-update_r101_fpn_8xb8-amp-lsj-200e_coco.py'),
    'pisa': ('faster-rcnn_r50_fpn_pisa_1x_coco.py', 'faster-rcnn_x101-32x4d_fpn_pisa_1x_coco.py'),
}
# Families whose stock config loads, at build time, what this machine cannot reach: mmdet's own KD detectors read
# their teacher's weights from download.openmmlab.com (LAD, LD) and LD its teacher config by a path relative to
# mmdet's repository. Each runs as a wrapper config that inherits the stock one and adds these lines, as a user
# offline would write them ({configs}: the installed mmdet's configs folder).
OFFLINE = {
    'lad': "model = dict(teacher_ckpt=None)",
    'ld': "model = dict(teacher_ckpt=None, teacher_config='{configs}/gfl/gfl_r101_fpn_ms-2x_coco.py')",
}
# Families built for one input size: the probe (square side) and the step (det, seg) run there instead.
SIZES = {
    'ssd': dict(probe=320, det=(320, 320)),  # SSD300's extra layers end in a 3x3 map at 300 px
    'ddod': dict(det=(384, 512)),  # DDOD's deformable convs need P7 of at least 3 x 3
    'beit': dict(probe=640, seg=(640, 640)),  # ViT position embeddings for the config's crop
    'mae': dict(probe=512, seg=(512, 512)),
    'mobilenet_v3': dict(probe=512, seg=(512, 1024)),  # LR-ASPP's 49x49 average pool at 1/8
}

_SIZES = [
    (r'(?:^|[_-])r18(?:[_-]|$)', 18), (r'(?:^|[_-])r34(?:[_-]|$)', 34), (r'(?:^|[_-])r50', 50),
    (r'(?:^|[_-])r101', 101), (r'(?:^|[_-])x101', 120), (r'(?:^|[_-])r152', 152),
    (r'nano', 1), (r'tiny', 2), (r'_s_', 3), (r'_m_', 4), (r'_l_', 5), (r'_x_', 6),
    (r'swin-t', 201), (r'swin-s', 202), (r'swin-b', 203), (r'swin-l', 204),
    (r'mit-b0', 300), (r'mit-b1', 301), (r'mit-b2', 302), (r'mit-b3', 303), (r'mit-b4', 304), (r'mit-b5', 305),
    (r'convnext-t', 401), (r'convnext-s', 402), (r'convnext-b', 403), (r'convnext-l', 404),
    (r'mobilenet|mbv2|mbv3', 10),
]


def size_rank(name: str) -> int:
    """The model size a config name states (see module docstring); 0 where it states none."""
    ranks = [rank for pattern, rank in _SIZES if re.search(pattern, name)]
    return max(ranks) if ranks else 0


def candidates(folder: str, datasets) -> list:
    names = sorted(osp.basename(p) for p in glob.glob(osp.join(folder, '*.py')) if 'tta' not in osp.basename(p))
    for dataset in datasets:
        chosen = [n for n in names if dataset in n]
        if chosen:
            return chosen
    return names


def choose_pair(folder: str, datasets) -> tuple:
    """``(student, teacher)`` config names: the smallest and the largest size, shortest name at each."""
    names = candidates(folder, datasets)
    if not names:
        return None, None
    ranked = sorted(names, key=lambda n: (size_rank(n), len(n), n))
    student = ranked[0]
    top = max(size_rank(n) for n in names)
    teacher = sorted((n for n in names if size_rank(n) == top), key=lambda n: (len(n), n))[0]
    return student, teacher


class Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise Timeout('no result within the time limit')


def check(student: str, teacher: str, method: str, limit: int, probes: dict, sizes: dict = None) -> dict:
    """Generate ``method``'s config for the pair and step it once; ``{ok, reason, kind, levels, seconds}``.

    ``sizes``: the family's entry of :data:`SIZES` (probe side, detection and segmentation step sizes).
    """
    sizes = sizes or {}
    steps = dict(det_size=sizes.get('det', (96, 128)), seg_size=sizes.get('seg', (64, 128)))
    start = time.time()
    signal.alarm(limit)
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            out = osp.join(work_dir, 'generated.py')
            text, _, pairing = generate(student, teacher, method, None, out, probes=probes,
                                        size=sizes.get('probe', PROBE_SIZE))
            with open(out, 'w') as f:
                f.write(text)
            cfg = Config.fromfile(out)
            if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper':  # MMEngine's AMP asserts a GPU; fp32 here
                cfg.optim_wrapper.type = 'OptimWrapper'
                cfg.optim_wrapper.pop('loss_scale', None)
            try:
                log_vars = smoke_train_step(cfg, work_dir, **steps)
            except Exception:  # noqa: B902 a query-based detector's top-k needs more positions than 96 x 128 has
                if 'det' in sizes:
                    raise
                log_vars = smoke_train_step(cfg, work_dir, det_size=RETRY_DET_SIZE, seg_size=steps['seg_size'])
        values = {k: float(v) for k, v in log_vars.items() if k.startswith('distill.')}
        bad = [k for k, v in values.items() if not torch.isfinite(torch.tensor(v))]
        if not values or bad:
            return dict(ok=False, reason=f'distillation losses {bad or "missing"}', seconds=time.time() - start)
        return dict(ok=True, kind=pairing.kind, levels=len(pairing.pairs) or 1,
                    strides=[p.student.stride for p in pairing.pairs], seconds=time.time() - start)
    except PairingError as e:
        return dict(ok=False, reason='tools/distill.py: ' + first_line(e)[:300], seconds=time.time() - start)
    except (Exception, Timeout) as e:  # noqa: B902 (any family's error is a result here)
        return dict(ok=False, reason=first_line(e)[:300], seconds=time.time() - start)
    finally:
        signal.alarm(0)


def families(package: str, left_out: dict):
    root = osp.join(osp.dirname(__import__(package).__file__), '.mim', 'configs')
    for name in sorted(os.listdir(root)):
        if osp.isdir(osp.join(root, name)) and name != '__pycache__':
            yield name, osp.join(root, name), left_out.get(name)


def run(selected, limit: int) -> list:
    rows = []
    for package, prefix, left_out, datasets in (
            ('mmdet', 'mmdet', MMDET_LEFT_OUT, ('_coco.py', 'coco')),
            ('mmseg', 'mmseg', MMSEG_LEFT_OUT, ('cityscapes', 'ade20k'))):
        for name, folder, why in families(package, left_out):
            if selected and name not in selected:
                continue
            row = dict(package=package, family=name)
            if why:
                rows.append(dict(row, left_out=why))
                continue
            student, teacher = PAIRS.get(name) or choose_pair(folder, datasets)
            if student is None:
                rows.append(dict(row, left_out='no config in the folder'))
                continue
            row.update(student=student, teacher=teacher)
            probes = {}
            with tempfile.TemporaryDirectory() as wrappers:
                paths = [offline_wrapper(folder, config, name, wrappers) if name in OFFLINE else
                         f'{prefix}::{name}/{config}' for config in (student, teacher)]
                for method in METHODS:
                    row[method] = check(*paths, method, limit, probes, SIZES.get(name))
                    mark = '✓' if row[method]['ok'] else '✗ ' + row[method]['reason']
                    print(f'{package} {name} {method}: {mark} ({row[method]["seconds"]:.0f} s)', flush=True)
            rows.append(row)
    return rows


def offline_wrapper(folder: str, config: str, family: str, out_dir: str) -> str:
    """A config in ``out_dir`` that inherits ``folder/config`` and adds the family's :data:`OFFLINE` lines."""
    path = osp.join(out_dir, config)
    if not osp.exists(path):
        with open(path, 'w') as f:
            f.write(f"_base_ = '{osp.join(folder, config)}'\n"
                    + OFFLINE[family].format(configs=osp.dirname(folder)) + '\n')
    return path


def markdown(rows: list) -> str:
    done = [r for r in rows if 'left_out' not in r]
    lines = ['# Which model families tools/distill.py pairs', '',
             'Measured by `python tools/benchmarks/distill_coverage.py` (its docstring says how pairs are chosen): '
             'for each family, the generated config was built with random weights and stepped once at a tiny '
             'input size on CPU. ✓: it built, paired and stepped with finite, non-empty distillation losses; ✗: '
             'the first line of the reason. A family shipped in one size is paired with itself (teacher = '
             'student config). This measures that the pairing and the config work, not that distillation helps.', '']
    for package in ('mmdet', 'mmseg'):
        part = [r for r in done if r['package'] == package]
        summary = {m: sum(r[m]['ok'] for r in part) for m in METHODS}
        lines += [f'## {package} ({len(part)} families: ACAM-KD {summary["acam_kd"]}/{len(part)} '
                  f'({100 * summary["acam_kd"] / max(len(part), 1):.0f} %), CWD {summary["cwd"]}/{len(part)} '
                  f'({100 * summary["cwd"] / max(len(part), 1):.0f} %))', '',
                  '| family | student | teacher | paired | ACAM-KD | CWD |', '|---|---|---|---|---|---|']
        for r in part:
            ok = next((r[m] for m in METHODS if r[m]['ok']), None)
            paired = f'{ok["kind"]}, strides {ok["strides"]}' if ok else ''
            teacher = 'same' if r['teacher'] == r['student'] else f'`{r["teacher"]}`'
            cells = ['✓' if r[m]['ok'] else '✗ ' + r[m]['reason'].replace('|', '\\|') for m in METHODS]
            lines.append(f'| {r["family"]} | `{r["student"]}` | {teacher} | {paired} | {cells[0]} | {cells[1]} |')
        lines.append('')
    lines += ['## Left out', '', '| package | folder | why |', '|---|---|---|']
    lines += [f'| {r["package"]} | {r["family"]} | {r["left_out"]} |' for r in rows if 'left_out' in r]
    return '\n'.join(lines) + '\n'


HAND_WRITTEN = '## Why each'  # from this heading on, docs/coverage.md is kept as it is when it is rewritten


def cells(line: str) -> list:
    """The cells of a markdown table row, with ``\\|`` inside a cell kept as ``|``."""
    parts = re.split(r'(?<!\\)\|', line.strip())[1:-1]
    return [c.strip().replace('\\|', '|') for c in parts]


def rows_from_markdown(text: str) -> list:
    """The rows :func:`markdown` wrote (``seconds`` and ``levels`` are not in it), for ``--merge``."""
    rows, package, left_out = [], None, False
    for line in text.splitlines():
        heading = re.match(r'## (mmdet|mmseg) ', line)
        if heading or line.startswith('## '):
            package, left_out = (heading.group(1) if heading else None), line.startswith('## Left out')
            continue
        if not line.startswith('| ') or line.startswith(('| family ', '| package ', '|---')):
            continue
        c = cells(line)
        if left_out and len(c) == 3:
            rows.append(dict(package=c[0], family=c[1], left_out=c[2]))
        elif package and len(c) == 6:
            student = c[1].strip('`')
            row = dict(package=package, family=c[0], student=student,
                       teacher=student if c[2] == 'same' else c[2].strip('`'))
            kind, strides = (c[3].split(', strides ') + [''])[:2] if c[3] else ('', '')
            for method, cell in zip(METHODS, c[4:]):
                row[method] = (dict(ok=True, kind=kind, strides=json.loads(strides or '[]')) if cell == '✓' else
                               dict(ok=False, reason=cell[2:]))
            rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--families', help='comma-separated folder names (default: all)')
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'coverage.md'))
    parser.add_argument('--json', help='also write the rows as JSON here')
    parser.add_argument('--merge', action='store_true',
                        help='replace the --families rows of an earlier run (--json, else the rows of --out), '
                             'keep the others')
    parser.add_argument('--limit', type=int, default=600, help='seconds per family and method')
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the builds' INFO and WARNING lines; the results are printed
    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    selected = set(args.families.split(',')) if args.families else None
    rows = run(selected, args.limit)
    old = open(args.out).read() if osp.exists(args.out) else ''
    if args.merge:  # re-measured families replace their rows of an earlier run
        if args.json and osp.exists(args.json):
            with open(args.json) as f:
                earlier = json.load(f)
        else:
            earlier = rows_from_markdown(old.split(HAND_WRITTEN)[0])
        again = {(r['package'], r['family']): r for r in rows}
        rows = [again.pop((r['package'], r['family']), r) for r in earlier] + list(again.values())
    with open(args.out, 'w') as f:
        hand = old[old.index(HAND_WRITTEN):] if HAND_WRITTEN in old else ''
        f.write(markdown(rows) + ('\n' + hand if hand else ''))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
