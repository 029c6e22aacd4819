"""ACAM-KD's spatial masks of one image, and their picture (each mask as a heat map over the image).

Used by ``tools/visualize_acam_masks.py`` (a trained checkpoint) and ``ACAMKDMaskVisualizerHook``
(early and late in a training run, through MMEngine's visualizer).
"""
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, pseudo_collate


def load_image(test_pipeline: List[dict], image: str) -> Dict:
    """``image`` through a test pipeline (annotation loading dropped), as a batch of one."""
    pipeline = [t for t in test_pipeline if 'Annotations' not in t['type']]
    return pseudo_collate([Compose(pipeline)(dict(img_path=image))])


@torch.no_grad()
def spatial_masks(model, batch: Dict) -> Tuple[Dict[str, torch.Tensor], Tuple[int, int]]:
    """``{level: (M, H, W) masks}`` of every ``ACAMKDLoss`` of an algorithm, and the padded input size.

    The teacher and the student run once on the batch, with the distiller's recorders on.
    """
    from ..models.losses.acam_kd import ACAMKDLoss
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
            masks[name[len('loss_'):] if name.startswith('loss_') else name] = loss.spatial_masks_of(
                preds_S, preds_T)[0]
    return masks, tuple(inputs.shape[-2:])


def render(image_bgr: np.ndarray, masks: torch.Tensor, padded_hw, alpha: float = 0.5) -> np.ndarray:
    """M panels side by side: the image with each (H, W) mask as a JET overlay, captioned ``m<i> mean``."""
    h, w = image_bgr.shape[:2]
    full = F.interpolate(masks[None].float(), size=tuple(padded_hw), mode='bilinear', align_corners=False)[0]
    panels = []
    for i, mask in enumerate(full[:, :h, :w]):
        heat = cv2.applyColorMap((mask.clamp(0, 1).cpu().numpy() * 255).astype(np.uint8), cv2.COLORMAP_JET)
        panel = cv2.addWeighted(image_bgr, 1 - alpha, heat, alpha, 0)
        cv2.putText(panel, f'm{i} {float(masks[i].mean()):.2f}', (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    return np.concatenate(panels, axis=1)


def batch_image(batch: Dict) -> np.ndarray:
    """The (resized) image of a batch of one, BGR uint8, as the pipeline left it."""
    return batch['inputs'][0].permute(1, 2, 0).cpu().numpy().copy()
