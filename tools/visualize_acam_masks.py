"""Render the ACAM-KD spatial masks of a distillation checkpoint over an image, one PNG per level.

    python tools/visualize_acam_masks.py CONFIG CHECKPOINT IMAGE [--out-dir DIR] [--alpha 0.5]

CONFIG is the ACAM-KD distillation config the checkpoint was trained with; CHECKPOINT a Runner checkpoint of
that run (it holds student, teacher and ACAM-KD weights; the teacher checkpoint named in the config is not
needed). The image goes through the config's test pipeline; the teacher and the student run once, and each
ACAM-KD level's M spatial masks (sigmoid, in (0, 1)) are drawn side by side over the image with a colour map,
titled with the mask index and its mean. Output: ``DIR/<level>.png`` (e.g. ``acam_l0.png`` for P3).
"""
import argparse
import copy
import os
import os.path as osp
import tempfile
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss
from mmkd_plugin.models.utils.teacher_checkpoint import extract_state_dict
from mmkd_plugin.testing import clear_pretrained, write_random_teacher


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


def load_image(cfg: Config, image: str) -> Dict:
    """The image through the config's test pipeline (annotation loading dropped), as one batch."""
    pipeline = [t for t in cfg.test_dataloader.dataset.pipeline if 'Annotations' not in t['type']]
    return pseudo_collate([Compose(pipeline)(dict(img_path=image))])


@torch.no_grad()
def spatial_masks(model, batch: Dict) -> Tuple[Dict[str, torch.Tensor], Tuple[int, int]]:
    """``{level: (M, H, W) masks}`` for every ACAMKDLoss of the distiller, and the padded input size."""
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    distiller = model.distiller
    with distiller.teacher_recorders:
        model.run_teacher(inputs, samples)
    with distiller.student_recorders:
        model.student(inputs, samples, mode='tensor')
    masks = {}
    for name, loss in distiller.distill_losses.items():
        if isinstance(loss, ACAMKDLoss):
            mapping = distiller.loss_forward_mappings[name]
            preds_S = distiller.get_record(**mapping['preds_S'])
            preds_T = distiller.get_record(**mapping['preds_T'])
            _, s_masks = loss.generate_masks(loss.align(preds_S), preds_T)
            masks[name[len('loss_'):] if name.startswith('loss_') else name] = s_masks[0]
    return masks, inputs.shape[-2:]


def render(image_bgr: np.ndarray, masks: torch.Tensor, padded_hw, alpha: float) -> np.ndarray:
    """M panels side by side: the image with each mask as a JET overlay, captioned ``m<i> mean``."""
    h, w = image_bgr.shape[:2]
    full = F.interpolate(masks[None], size=tuple(padded_hw), mode='bilinear', align_corners=False)[0]
    panels: List[np.ndarray] = []
    for i, mask in enumerate(full[:, :h, :w]):
        heat = cv2.applyColorMap((mask.clamp(0, 1).numpy() * 255).astype(np.uint8), cv2.COLORMAP_JET)
        panel = cv2.addWeighted(image_bgr, 1 - alpha, heat, alpha, 0)
        cv2.putText(panel, f'm{i} {masks[i].mean():.2f}', (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    return np.concatenate(panels, axis=1)


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
        batch = load_image(cfg, args.image)
        masks, padded_hw = spatial_masks(model, batch)
    if not masks:
        raise SystemExit(f'{args.config} has no ACAMKDLoss in its distiller: nothing to render.')
    image = batch['inputs'][0].permute(1, 2, 0).numpy().copy()  # the resized image, BGR uint8
    os.makedirs(args.out_dir, exist_ok=True)
    for level, level_masks in masks.items():
        path = osp.join(args.out_dir, f'{level}.png')
        cv2.imwrite(path, render(image, level_masks.float(), padded_hw, args.alpha))
        print(f'{path}: {level_masks.shape[0]} masks at {tuple(level_masks.shape[1:])}')


if __name__ == '__main__':
    main()
