"""Clean and HARD-augmented training images side by side, with their boxes or label maps.

    python tools/visualize_hard_augmentations.py HARD_CONFIG [--checkpoint RUN_CKPT] [--num-images 4]
                                                 [--seed 0] [--out hard_augmentations.png] [--cfg-options ...]

Draws training images through the config's pipeline and the student's data preprocessor, warps them with the
config's augmentor (its learned distribution when ``--checkpoint`` is a HARD run's checkpoint, else its
initial one), and writes a grid: one row per image, the clean image with its ground truth on the left, the
augmented one with the warped ground truth on the right (mmdet's/mmseg's visualizers draw them).
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import copy
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import DATASETS, MODELS, VISUALIZERS, DefaultScope, init_default_scope
from mmengine.runner import CheckpointLoader, set_random_seed

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.utils import extract_state_dict, resolve_model_cfg
from mmkd_plugin.tools_common import read_config
from mmkd_plugin.tool_paths import make_parent, path_arg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Clean vs HARD-augmented training images')
    parser.add_argument('config', type=path_arg('config'), help='a HARD config (model.augmentor), local or pkg::path')
    parser.add_argument('--checkpoint', type=path_arg('checkpoint'),
                        help="a HARD run's checkpoint: its learned augmentor is used")
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=path_arg('out_file'), default='hard_augmentations.png')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def build_augmentor(cfg: Config, checkpoint):
    if 'augmentor' not in cfg.model:
        raise SystemExit('the config has no model.augmentor: use a HARD config (configs/hard).')
    with DefaultScope.overwrite_default_scope('mmrazor'):  # where the augmentors are registered
        augmentor = MODELS.build(copy.deepcopy(cfg.model.augmentor))
    if checkpoint:
        state = extract_state_dict(CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu'),
                                   prefix='augmentor.')
        if not state:
            raise SystemExit(f'{checkpoint} holds no augmentor.* weights: pass a checkpoint of a HARD run.')
        try:
            augmentor.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise SystemExit(f"{checkpoint}'s augmentor does not match the config's (e.g. learn_mean): pass the "
                             f'config (or --cfg-options) the run was trained with.\n{e}') from e
        print_log(f'augmentor loaded from {checkpoint}', logger='current')
    return augmentor.eval()


def to_image(tensor: torch.Tensor, preprocessor) -> np.ndarray:
    """A preprocessed (3, H, W) image back to uint8 RGB (H, W, 3)."""
    image = tensor * preprocessor.std + preprocessor.mean if preprocessor._enable_normalize else tensor
    image = image.clamp(0, 255).byte().permute(1, 2, 0).numpy()
    image = image if getattr(preprocessor, '_channel_conversion', True) else image[..., ::-1]
    return np.ascontiguousarray(image)  # OpenCV draws on contiguous arrays only


def main(argv=None):
    args = parse_args(argv)
    cfg = read_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    set_random_seed(args.seed)
    student = resolve_model_cfg(copy.deepcopy(cfg.model.architecture), 'student')
    preprocessor = MODELS.build(student.data_preprocessor)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    augmentor = build_augmentor(cfg, args.checkpoint)
    count = min(args.num_images, len(dataset))
    data = preprocessor(pseudo_collate([dataset[i] for i in range(count)]), True)
    clean_samples = copy.deepcopy(data['data_samples'])
    with torch.no_grad():
        warped, warped_samples = augmentor(data['inputs'], data['data_samples'])
    kind = 'SegLocalVisualizer' if 'gt_sem_seg' in clean_samples[0] else 'DetLocalVisualizer'
    visualizer = VISUALIZERS.build(dict(type=kind, name=f'hard_{osp.basename(args.out)}'))
    visualizer.dataset_meta = dataset.metainfo
    rows = []
    for i in range(count):
        pair = []
        for images, samples in ((data['inputs'], clean_samples), (warped, warped_samples)):
            visualizer.add_datasample('hard', to_image(images[i], preprocessor), samples[i], draw_gt=True,
                                      draw_pred=False, show=False)
            pair.append(visualizer.get_image())
        rows.append(np.concatenate(pair, axis=1))
    mmcv.imwrite(np.concatenate(rows, axis=0)[..., ::-1], make_parent(args.out))
    print_log(f'{count} clean | augmented pairs written to {args.out}', logger='current')


if __name__ == '__main__':
    main()
