"""Render the ACAM-KD spatial masks of a distillation checkpoint over an image, one PNG per level.

    python tools/visualize_acam_masks.py CONFIG CHECKPOINT IMAGE [--out-dir DIR] [--alpha 0.5]

CONFIG is the ACAM-KD distillation config the checkpoint was trained with; CHECKPOINT a Runner checkpoint of
that run (it holds student, teacher and ACAM-KD weights; the teacher checkpoint named in the config is not
needed). The image goes through the config's test pipeline; the teacher and the student run once, and each
ACAM-KD level's M spatial masks (sigmoid, in (0, 1)) are drawn side by side over the image with a colour map,
titled with the mask index and its mean. Output: ``DIR/<level>.png`` (e.g. ``acam_l0.png`` for P3).
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile

import cv2
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.utils.teacher_checkpoint import extract_state_dict
from mmkd_plugin.visualization import batch_image, load_image, render, spatial_masks

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # mmkd_devtools: the repository's own
from mmkd_devtools.testing import clear_pretrained, write_random_teacher  # noqa: E402


def build_model(cfg: Config, checkpoint: str) -> torch.nn.Module:
    """The distillation model with every weight (teacher included) from ``checkpoint``."""
    from mmrazor.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    clear_pretrained(model_cfg)
    with tempfile.TemporaryDirectory() as tmp:
        # The teacher is built from a placeholder; the checkpoint below overwrites it.
        model_cfg.teacher_ckpt = write_random_teacher(model_cfg, osp.join(tmp, 'teacher.pth'))
        model = MODELS.build(model_cfg)
    state = extract_state_dict(_load_checkpoint(checkpoint, map_location='cpu'))
    model.load_state_dict(state, strict=True)
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description='Render ACAM-KD spatial masks per level to PNG')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out-dir', default='acam_masks')
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity of the masks')
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdet')):
        model = build_model(cfg, args.checkpoint)
        batch = load_image(cfg.test_dataloader.dataset.pipeline, args.image)
        masks, padded_hw = spatial_masks(model, batch)
    if not masks:
        raise SystemExit(f'{args.config} has no ACAMKDLoss in its distiller: nothing to render.')
    image = batch_image(batch)
    os.makedirs(args.out_dir, exist_ok=True)
    for level, level_masks in masks.items():
        path = osp.join(args.out_dir, f'{level}.png')
        cv2.imwrite(path, render(image, level_masks.float(), padded_hw, args.alpha))
        print(f'{path}: {level_masks.shape[0]} masks at {tuple(level_masks.shape[1:])}')


if __name__ == '__main__':
    main()
