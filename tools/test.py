"""Evaluate a checkpoint on the config's test set (mmdet/mmseg's CLI).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                                           [--cfg-options k=v ...] [--launcher ...]

With a distillation config any checkpoint of its student is evaluated (the run's, or a student-only one); with
the student's own config a student-only checkpoint (``*_student.pth``), or a distillation checkpoint, whose
student (``architecture.*``) is taken (a line says so). A checkpoint that leaves tensors of the evaluated model
unloaded is refused, with the missing keys named, instead of evaluating random weights.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse

from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd_plugin  # noqa: F401
from mmkd_plugin.engine.hooks.checkpoint_fit_hook import CheckpointFitHook
from mmkd_plugin.tools_common import add_common_args, configure_cpu_distributed, finish_distributed, load_config
from mmkd_plugin.tool_paths import check_config_paths, make_parent, path_arg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', type=path_arg('config'), help='test config file path')
    parser.add_argument('checkpoint', type=path_arg('checkpoint'), help='checkpoint file')
    parser.add_argument('--out', type=path_arg('out_file'), help='dump the predictions to a pickle file')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'argument --out: {args.out} must end with .pkl or .pickle')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    check_config_paths(cfg, dataloaders=('test_dataloader',))
    configure_cpu_distributed(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.register_hook(CheckpointFitHook(args.checkpoint))
    if args.out is not None:
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=make_parent(args.out)))
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
