"""Convert a distillation checkpoint into a student-only checkpoint.

    python tools/export_student.py work_dirs/run/epoch_24.pth [--out student.pth]

The result loads strictly into the unmodified student config, so that
``python tools/test.py <student config> <student ckpt>`` (or mmdet/mmseg's own tools/test.py and
deployment tools) use it. The student's resolved config is written next to it (``student.py``): the
distillation config's student with its overrides, test pipeline and dataset metainfo, without
anything of mmkd_plugin.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import os.path as osp

from mmengine.logging import print_log

import mmkd_plugin  # noqa: F401
from mmkd_plugin.engine import export_student
from mmkd_plugin.tool_paths import path_arg


def main(argv=None):
    parser = argparse.ArgumentParser(description='Extract the student of a distillation checkpoint')
    parser.add_argument('checkpoint', type=path_arg('checkpoint'), help='distillation checkpoint (keys architecture.*)')
    parser.add_argument('--out', type=path_arg('out_file'),
                        help='output path (default: <checkpoint>_student.pth; missing folders are created)')
    args = parser.parse_args(argv)
    try:
        dst = export_student(args.checkpoint, args.out)
    except ValueError as e:  # not a distillation checkpoint
        parser.error(f'argument checkpoint: {e}')
    print_log(f'student checkpoint written to {dst} (config: {osp.splitext(dst)[0]}.py)', logger='current')


if __name__ == '__main__':
    main()
