"""Render the ACAM-KD spatial masks of a distillation checkpoint over an image, one PNG per level.

    python tools/visualize_acam_masks.py CONFIG CHECKPOINT IMAGE [--out-dir DIR] [--alpha 0.5]

CONFIG is the ACAM-KD distillation config the checkpoint was trained with; CHECKPOINT a Runner checkpoint of
that run. The model is the run's as the checkpoint holds it: its teacher (the ``teacher.*`` weights the masks
were trained against, whatever ``teacher_ckpt`` the config names now; that file is not needed), its student
and its ACAM-KD fusion and mask units, all loaded strictly. The image goes through the config's test
pipeline; the teacher and the student run once, and each ACAM-KD level's M spatial masks (sigmoid, in (0, 1))
are drawn side by side over the image with a colour map, titled with the mask index and its mean, as
``ACAMKDMaskVisualizerHook`` draws them during training. Output: ``DIR/<level>.png`` (e.g. ``acam_l0.png``
for P3); DIR defaults to ``acam_masks/<checkpoint name>/`` next to the checkpoint, in the run's work dir.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import CheckpointLoader

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.utils.teacher_checkpoint import extract_state_dict
from mmkd_plugin.tools_common import read_config
from mmkd_plugin.tool_paths import path_arg
from mmkd_plugin.visualization import batch_image, load_image, render, spatial_masks

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # mmkd_devtools: the repository's own
from mmkd_devtools.testing import clear_pretrained  # noqa: E402


def build_model(cfg: Config, checkpoint: str) -> torch.nn.Module:
    """The run's distillation model, every weight (the teacher's included) from ``checkpoint``.

    Raises:
        SystemExit: the checkpoint holds no teacher (not a distillation run's checkpoint), or its weights do
            not fit the config.
    """
    from mmrazor.registry import MODELS
    state = extract_state_dict(CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu'))
    teacher = extract_state_dict(state, prefix='teacher.')
    if not teacher:
        raise SystemExit(f'{checkpoint} holds no teacher.* weights: give a checkpoint of the ACAM-KD run itself '
                         '(work_dirs/<run>/epoch_N.pth), not a *_student.pth export or a teacher checkpoint.')
    model_cfg = copy.deepcopy(cfg.model)
    clear_pretrained(model_cfg)
    with tempfile.TemporaryDirectory() as tmp:
        # The teacher the run trained with (its teacher_ckpt is loaded strictly, mismatches named).
        model_cfg.teacher_ckpt = osp.join(tmp, 'teacher.pth')
        torch.save(dict(state_dict=teacher), model_cfg.teacher_ckpt)
        model = MODELS.build(model_cfg)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise SystemExit(f'{checkpoint} does not fit the config: give the config the run was trained with.\n{e}') from e
    return model.eval()


def acam_masks(cfg: Config, checkpoint: str, image: str) -> Tuple[Dict[str, torch.Tensor], np.ndarray, tuple]:
    """``{level: (M, H, W) masks}`` of the run's model on ``image``, the image as the pipeline left it, and
    the padded input size."""
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    with DefaultScope.overwrite_default_scope(scope):
        model = build_model(cfg, checkpoint)
        batch = load_image(cfg.test_dataloader.dataset.pipeline, image)
        masks, padded_hw = spatial_masks(model, batch)
    return masks, batch_image(batch), padded_hw


def default_out_dir(checkpoint: str) -> str:
    """``work_dirs/run/epoch_12.pth`` -> ``work_dirs/run/acam_masks/epoch_12``."""
    name = osp.splitext(osp.basename(checkpoint))[0]
    return osp.join('acam_masks', name) if '://' in checkpoint else osp.join(
        osp.dirname(checkpoint), 'acam_masks', name)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Render ACAM-KD spatial masks per level to PNG')
    parser.add_argument('config', type=path_arg('config'))
    parser.add_argument('checkpoint', type=path_arg('checkpoint'), help="the ACAM-KD run's checkpoint")
    parser.add_argument('image', type=path_arg('image'))
    parser.add_argument('--out-dir', type=path_arg('out_dir'),
                        help='default: acam_masks/<checkpoint name>/ next to the checkpoint')
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity of the masks')
    args = parser.parse_args(argv)

    cfg = read_config(args.config)
    masks, image, padded_hw = acam_masks(cfg, args.checkpoint, args.image)
    if not masks:
        raise SystemExit(f'{args.config} has no ACAMKDLoss in its distiller: nothing to render.')
    out_dir = args.out_dir or default_out_dir(args.checkpoint)
    os.makedirs(out_dir, exist_ok=True)
    for level, level_masks in masks.items():
        path = osp.join(out_dir, f'{level}.png')
        cv2.imwrite(path, render(image, level_masks.float(), padded_hw, args.alpha))
        print(f'{path}: {level_masks.shape[0]} masks at {tuple(level_masks.shape[1:])}')
    print(f'masks of {len(masks)} levels written to {out_dir}')


if __name__ == '__main__':
    main()
