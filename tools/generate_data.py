"""Write the generated COCO and/or Cityscapes sets used by the configs and tests.

    python tools/generate_data.py {coco,cityscapes,all} [--out-dir data/synthetic]
                                  [--num-train N] [--num-val N] [--num-empty-val N] [--seed S]

The sets go to OUT_DIR/coco and OUT_DIR/cityscapes, where configs/_base_/datasets/synthetic_*.py
look for them. The same arguments always give the same files. Each set records its arguments in
``generated.json``: a set already generated with the same arguments is left alone, one generated with
other arguments is removed and written anew.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import json
import os.path as osp
import shutil
import sys
from typing import Callable, List, Optional

from mmengine.logging import print_log

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # mmkd_devtools: the repository's own
from mmkd_devtools.datasets import generate_cityscapes, generate_coco_detection  # noqa: E402
from mmkd_plugin.tool_paths import path_arg  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate small learnable COCO/Cityscapes-layout data')
    parser.add_argument('which', choices=['coco', 'cityscapes', 'all'], help='which set(s) to write')
    parser.add_argument('--out-dir', type=path_arg('out_dir'), default='data/synthetic',
                        help='parent folder of coco/ and cityscapes/')
    parser.add_argument('--num-train', type=int, help='training images (default: 48 coco, 24 cityscapes)')
    parser.add_argument('--num-val', type=int, help='validation images (default: 128 coco, 64 cityscapes)')
    parser.add_argument('--num-empty-val', type=int, default=0,
                        help='coco only: val images with no objects, appended to val')
    parser.add_argument('--seed', type=int, default=0, help='seed of the generated set')
    return parser.parse_args(argv)


# What each generator writes under its folder: removed before a set is written with other arguments.
WRITTEN = {'coco': ('images', 'annotations'), 'cityscapes': ('leftImg8bit', 'gtFine')}
STAMP = 'generated.json'


def generate_once(which: str, out_dir: str, generate: Callable[..., dict], **kwargs) -> Optional[dict]:
    """Run ``generate(out_dir, **kwargs)`` unless ``out_dir`` already holds that very set.

    Returns the generator's dict, or None when the set was up to date.
    """
    stamp = osp.join(out_dir, STAMP)
    wanted = dict(generator=which, **kwargs)
    if osp.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == wanted:
                print_log(f'{which}: {out_dir} is up to date ({wanted})', logger='current')
                return None
        for name in WRITTEN[which]:  # ours (the stamp says so): no stale files from other arguments
            shutil.rmtree(osp.join(out_dir, name), ignore_errors=True)
    info = generate(out_dir, **kwargs)
    with open(stamp, 'w') as f:
        json.dump(wanted, f)
    return info


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    sizes = {k: v for k, v in (('num_train', args.num_train), ('num_val', args.num_val)) if v is not None}
    if args.which in ('coco', 'all'):
        info = generate_once('coco', osp.join(args.out_dir, 'coco'), generate_coco_detection, seed=args.seed,
                             num_empty_val=args.num_empty_val, **sizes)
        if info:
            print_log(f"COCO: {info['num_train']} train / {info['num_val']} val images, classes "
                      f"{info['classes']}, annotations {info['train_ann_file']} and {info['val_ann_file']}",
                      logger='current')
    if args.which in ('cityscapes', 'all'):
        info = generate_once('cityscapes', osp.join(args.out_dir, 'cityscapes'), generate_cityscapes,
                             seed=args.seed, **sizes)
        if info:
            print_log(f"Cityscapes: {info['num_train']} train / {info['num_val']} val scenes under "
                      f"{info['data_root']} (leftImg8bit/, gtFine/ with labelTrainIds and labelIds)",
                      logger='current')


if __name__ == '__main__':
    main()
