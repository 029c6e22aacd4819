"""``make demo`` once per CPU numerical code path: the spread of its table a newcomer should expect.

    python -m mmkd_devtools.numerics.demo_spread [--paths default all-avx2 ...] [--out-dir DIR]

Each path (``paths.PATHS``, plus ``threads-1`` and ``threads-4``: the torch thread count of a 1- and a
4-core machine, and ``portable``: ``paths.PORTABLE``) runs ``tools/demo.py`` in its own work dir from
scratch. Prints one row per path and the min / max / spread of each model's bbox mAP; ``DIR/spread.json``
keeps them.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

from .paths import PATHS, PORTABLE

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL = dict(PATHS, **{'threads-1': {'OMP_NUM_THREADS': '1'}, 'threads-4': {'OMP_NUM_THREADS': '4'},
                     'portable': PORTABLE})


def table_rows(output: str) -> dict:
    """``{model: bbox mAP}`` from the demo's closing table."""
    return {m.group(1).strip(): float(m.group(2))
            for m in re.finditer(r'^\| ([^|]+?) \| ([0-9.]+) \| [0-9.]+ \| [0-9.]+ \|$', output, re.M)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--paths', nargs='+', default=list(ALL), choices=list(ALL))
    parser.add_argument('--out-dir', default='work_dirs/demo_spread')
    args = parser.parse_args()
    results = {}
    for name in args.paths:
        start = time.time()
        env = dict(os.environ, **ALL[name])
        done = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'demo.py'), '--work-dir',
                               osp.join(args.out_dir, name)], cwd=REPO, env=env, capture_output=True, text=True)
        rows = table_rows(done.stdout + done.stderr)
        results[name] = dict(env=ALL[name], seconds=round(time.time() - start), rows=rows,
                             returncode=done.returncode)
        print(f'{name:<16} {time.time() - start:5.0f} s  ' + '  '.join(f'{v:.3f}' for v in rows.values()), flush=True)
    models = list(next((r['rows'] for r in results.values() if r['rows']), {}))
    print('\n| path | seconds | ' + ' | '.join(models) + ' |\n|---|---|' + '---|' * len(models))
    for name, r in results.items():
        print(f"| {name} | {r['seconds']} | " + ' | '.join(f"{r['rows'].get(m, float('nan')):.3f}" for m in models)
              + ' |')
    for m in models:
        values = [r['rows'][m] for r in results.values() if m in r['rows']]
        print(f'{m}: min {min(values):.3f}, max {max(values):.3f}, spread {max(values) - min(values):.3f}')
    os.makedirs(osp.join(REPO, args.out_dir), exist_ok=True)
    with open(osp.join(REPO, args.out_dir, 'spread.json'), 'w') as f:
        json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
