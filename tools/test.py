"""Evaluate a checkpoint on the config's test set (mmdet/mmseg's CLI).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                                           [--cfg-options k=v ...] [--launcher ...]

With a student-only checkpoint (``*_student.pth``) use the student's own config; with a distillation
checkpoint use the distillation config (the student is evaluated).
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse

from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd_plugin  # noqa: F401
from mmkd_plugin.tools_common import add_common_args, configure_cpu_distributed, finish_distributed, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to a pickle file')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    configure_cpu_distributed(cfg)
    cfg.load_from = args.checkpoint
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must end with .pkl or .pickle')
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
