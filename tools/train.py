"""Train a detector, a segmentor or a distillation run with MMEngine's Runner (mmdet's CLI).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]] [--auto-scale-lr] [--no-preflight]
                                 [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

A distillation run checks itself before its first step (the preflight, docs/preflight.md); ``--no-preflight``
skips it (``preflight.skip=True``). A refused run ends with one error listing each problem and its fix.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd_plugin  # noqa: F401  stack fixes and registration, also for plain mmdet/mmseg configs
from mmkd_plugin.engine.preflight import PreflightError
from mmkd_plugin.engine.runner import resume_check
from mmkd_plugin.tools_common import (add_common_args, configure_amp, configure_cpu_distributed, finish_distributed,
                                      load_config)
from mmkd_plugin.tool_paths import check_config_paths, path_arg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model or distil a student')
    parser.add_argument('config', type=path_arg('config'), help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 AmpOptimWrapper on GPU, bf16 autocast on CPU')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by batch size')
    parser.add_argument('--resume', nargs='?', type=path_arg('checkpoint', keep=('auto',)), const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--no-preflight', action='store_true',
                        help="skip a distillation run's checks before its first step (preflight.skip=True)")
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    configure_cpu_distributed(cfg)
    if args.amp:
        configure_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` in the config.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.no_preflight:
        cfg.merge_from_dict({'preflight.skip': True})
    check_config_paths(cfg)
    try:
        if args.resume not in (None, 'auto') and '://' not in args.resume:
            resume_check.check_training_state(resume_check.read_checkpoint(args.resume), args.resume)  # any run
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
        runner.train()
    except (resume_check.ResumeRefused, PreflightError) as e:  # the mistake and the fix, without a stack trace
        raise SystemExit(f'error: {e}') from None
    finish_distributed()


if __name__ == '__main__':
    main()
