"""Write the generated COCO and/or Cityscapes sets used by the configs and tests.

    python tools/generate_data.py {coco,cityscapes,all} [--out-dir data/synthetic]
                                  [--num-train N] [--num-val N] [--num-empty-val N] [--seed S]

The sets go to OUT_DIR/coco and OUT_DIR/cityscapes, where configs/_base_/datasets/synthetic_*.py
look for them. The same arguments always give the same files.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.logging import print_log

from mmkd_plugin.datasets import generate_cityscapes, generate_coco_detection


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate small learnable COCO/Cityscapes-layout data')
    parser.add_argument('which', choices=['coco', 'cityscapes', 'all'], help='which set(s) to write')
    parser.add_argument('--out-dir', default='data/synthetic', help='parent folder of coco/ and cityscapes/')
    parser.add_argument('--num-train', type=int, help='training images (default: 48 coco, 24 cityscapes)')
    parser.add_argument('--num-val', type=int, help='validation images (default: 16 coco, 8 cityscapes)')
    parser.add_argument('--num-empty-val', type=int, default=0,
                        help='coco only: val images with no objects, appended to val')
    parser.add_argument('--seed', type=int, default=0, help='seed of the generated set')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    sizes = {k: v for k, v in (('num_train', args.num_train), ('num_val', args.num_val)) if v is not None}
    if args.which in ('coco', 'all'):
        info = generate_coco_detection(osp.join(args.out_dir, 'coco'), seed=args.seed,
                                       num_empty_val=args.num_empty_val, **sizes)
        print_log(f"COCO: {info['num_train']} train / {info['num_val']} val images, classes "
                  f"{info['classes']}, annotations {info['train_ann_file']} and {info['val_ann_file']}",
                  logger='current')
    if args.which in ('cityscapes', 'all'):
        info = generate_cityscapes(osp.join(args.out_dir, 'cityscapes'), seed=args.seed, **sizes)
        print_log(f"Cityscapes: {info['num_train']} train / {info['num_val']} val scenes under "
                  f"{info['data_root']} (leftImg8bit/, gtFine/ with labelTrainIds and labelIds)",
                  logger='current')


if __name__ == '__main__':
    main()
