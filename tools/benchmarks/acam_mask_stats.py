"""Per-level ACAM-KD mask statistics at the end of training, for every variant of an accuracy run.

    python tools/benchmarks/acam_mask_stats.py WORK_DIR [--out mask_stats.md]

Reads the last training record of each run's ``vis_data/scalars.json`` (what ``ACAMKDMaskLoggerHook``
logs: mean spatial mask ``mask_s``, mean channel mask ``mask_c``, mean pairwise Dice of a level's
spatial masks ``div``), averages over seeds and prints a markdown table: per variant and level
``mask_s / mask_c / Dice``. Informative masks keep both means inside (0.05, 0.95) and Dice below 0.9.
"""
import argparse
import glob
import json
import os.path as osp
import re
import statistics
from collections import defaultdict

from mmkd_plugin.tool_paths import make_parent, path_arg


def last_stats(run_dir: str) -> dict:
    """The last logged training record with ACAM-KD statistics of one run."""
    last = {}
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if any(k.endswith('.mask_s') for k in record):
                    last = record
    return last


def collect(work_dir: str) -> dict:
    """``{variant: {level: {stat: mean over seeds}}}``."""
    table = {}
    for variant_dir in sorted(glob.glob(osp.join(work_dir, '*'))):
        runs = [last_stats(d) for d in sorted(glob.glob(osp.join(variant_dir, 'seed_*')))]
        runs = [r for r in runs if r]
        if not runs:
            continue
        values = defaultdict(list)
        for record in runs:
            for key, value in record.items():
                match = re.fullmatch(r'(acam(?:_l\d+)?)\.(mask_s|mask_c|div)', key)
                if match:
                    values[(match.group(1), match.group(2))].append(value)
        levels = defaultdict(dict)
        for (level, stat), vals in values.items():
            levels[level][stat] = statistics.fmean(vals)
        table[osp.basename(variant_dir)] = dict(sorted(levels.items()))
    return table


def markdown(table: dict) -> str:
    levels = sorted({level for row in table.values() for level in row})
    lines = ['| variant | ' + ' | '.join(levels) + ' |', '|---|' + '---|' * len(levels)]
    for variant, row in table.items():
        cells = []
        for level in levels:
            s = row.get(level, {})
            cells.append(' / '.join(f'{s[k]:.2f}' if k in s else '–' for k in ('mask_s', 'mask_c', 'div')))
        lines.append(f'| {variant} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n\nPer level: mean spatial mask / mean channel mask / mean pairwise Dice of the ' \
        'spatial masks (1 = identical masks), last logged iteration, averaged over seeds.\n'


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', type=path_arg('folder'), help="an accuracy benchmark's work dir")
    parser.add_argument('--out', type=path_arg('out_file'), help='also write the table to this file')
    args = parser.parse_args(argv)
    text = markdown(collect(args.work_dir))
    print(text)
    if args.out:
        with open(make_parent(args.out), 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
