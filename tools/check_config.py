"""Build a config's model offline and run one training step at a tiny input size.

    python tools/check_config.py CONFIG [--preflight] [--cfg-options k=v ...]

Pretrained ``init_cfg``s are cleared and a distillation teacher gets a checkpoint of its own random
weights, so this needs neither network nor data: it checks that the config builds, that recorder names
exist, that shapes match, and that every loss is finite. The test suite runs it on every shipped config.

``--preflight`` then runs a distillation run's preflight (docs/preflight.md) on the offline model: classes,
inputs, each loss at the first step on the generated batch, the step's cost. The teacher loads the
config's ``teacher_ckpt`` where that is a file here, and is then evaluated on the first N validation images
(where the data is here) and judged; a teacher with random weights is evaluated and reported, never judged.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import logging
import math
import os.path as osp
import sys
import tempfile

from mmengine.config import DictAction
from mmengine.logging import print_log

import mmkd_plugin  # noqa: F401
from mmkd_plugin.tools_common import read_config
from mmkd_plugin.tool_paths import path_arg

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # mmkd_devtools: the repository's own
from mmkd_devtools.testing import smoke_train_step  # noqa: E402
from mmkd_devtools.testing.preflight import smoke_preflight  # noqa: E402
from mmkd_plugin.engine.preflight import PreflightError  # noqa: E402


def teacher_note(cfg) -> str:
    """What the step does with the config's ``teacher_ckpt`` when that is not a file here (None when it is, or
    when the model has no teacher checkpoint): the check then runs a teacher of random weights."""
    ckpt = cfg.model.get('teacher_ckpt') if 'model' in cfg else None
    if not ckpt or osp.isfile(str(ckpt)):
        return None
    if '://' in str(ckpt):
        return (f'teacher_ckpt {ckpt} is not downloaded by this check: the step runs a teacher of random weights '
                '(tools/train.py loads it; give a local file with --cfg-options model.teacher_ckpt=PATH to use it).')
    return (f'teacher_ckpt {ckpt} does not exist: this check runs a teacher of random weights, and tools/train.py '
            'will stop on it. Fix: --cfg-options model.teacher_ckpt=PATH (or edit the config).')


def main(argv=None):
    parser = argparse.ArgumentParser(description='One offline training step of a config')
    parser.add_argument('config', type=path_arg('config'))
    parser.add_argument('--preflight', action='store_true',
                        help="then the distillation run's preflight (docs/preflight.md) on the offline model")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = read_config(args.config, args.cfg_options)
    note = teacher_note(cfg)
    if note:
        print_log(note, logger='current', level=logging.WARNING)
    with tempfile.TemporaryDirectory() as work_dir:
        log_vars = smoke_train_step(cfg, work_dir)
        if args.preflight:
            try:
                if smoke_preflight(cfg, work_dir) is None:
                    print_log('preflight: not a distillation config with a teacher; nothing to check.',
                              logger='current')
            except PreflightError as e:
                raise SystemExit(f'error: {e}') from None
    log_vars = {name: float(value.detach() if hasattr(value, 'detach') else value)
                for name, value in log_vars.items()}
    lines = [f'{name}: {value:.4f}' for name, value in log_vars.items()]
    print_log('one training step:\n  ' + '\n  '.join(lines), logger='current')
    bad = [name for name, value in log_vars.items() if not math.isfinite(value)]
    if bad:
        raise SystemExit(f'non-finite losses: {bad}')


if __name__ == '__main__':
    main()
