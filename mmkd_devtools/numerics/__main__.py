"""Run pytest once per CPU numerical code path (``paths.PATHS``) and print which tests moved.

    python -m mmkd_devtools.numerics [--paths default mkl-avx2 ...] [-- PYTEST_ARGS ...]

Default pytest arguments: ``-m numerics`` (the tests that assert where training or an optimisation
ends). Each path's run writes ``DIR/<path>.xml`` (JUnit); the table lists every test that failed under
some path. Exit status 1 if any test failed under any path.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import xml.etree.ElementTree as ET

from .paths import PATHS


def failures(junit: str) -> dict:
    """``{test id: first line of the failure}`` of a JUnit file, and the number of tests in it."""
    root = ET.parse(junit).getroot()
    failed, count = {}, 0
    for case in root.iter('testcase'):
        count += 1
        for tag in ('failure', 'error'):
            node = case.find(tag)
            if node is not None:
                message = (node.get('message') or '').splitlines()
                failed[f"{case.get('classname')}::{case.get('name')}"] = message[0][:120] if message else tag
    return failed, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--paths', nargs='+', default=list(PATHS), choices=list(PATHS))
    parser.add_argument('--out-dir', default='work_dirs/numerics')
    args, pytest_args = parser.parse_known_args()
    pytest_args = [a for a in pytest_args if a != '--'] or ['-m', 'numerics']
    os.makedirs(args.out_dir, exist_ok=True)
    results = {}
    for name in args.paths:
        junit = osp.join(args.out_dir, f'{name}.xml')
        env = dict(os.environ, **PATHS[name])
        print(f'== {name}: {PATHS[name] or "(nothing set)"}', flush=True)
        subprocess.run([sys.executable, '-m', 'pytest', '-q', f'--junitxml={junit}', *pytest_args], env=env)
        results[name] = failures(junit) if osp.isfile(junit) else ({'(no report)': 'pytest did not run'}, 0)
    moved = sorted({test for failed, _ in results.values() for test in failed})
    print('\n| path | tests | failed |\n|---|---|---|')
    for name, (failed, count) in results.items():
        print(f'| {name} | {count} | {len(failed)} |')
    for test in moved:
        print(f'\n{test}')
        for name, (failed, _) in results.items():
            if test in failed:
                print(f'  {name}: {failed[test]}')
    return 1 if moved else 0


if __name__ == '__main__':
    sys.exit(main())
