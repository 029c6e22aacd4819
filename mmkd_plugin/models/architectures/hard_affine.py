"""HARD-affine: a learned distribution of bounded affine transforms, applied to a preprocessed batch.

Nix, Burg & Sinz, "HARD: Hard Augmentations for Robust Distillation", arXiv 2305.14890 (2023). No official
code; the paper's text could not be read (``configs/hard/README.md``). The authors' workshop precursor describes
the spatial augmentor as a learned distribution of transformations; this module is our reading of it.

Each image gets its own transform, drawn with the reparameterisation trick, so gradients reach the
distribution's parameters (mean mu_k and log-std s_k of each component k)::

    a_k = b_k * tanh(mu_k + exp(s_k) * eps_k),   eps_k ~ N(0, 1)
    components: rotation (rad), log-scale, shear, translation x, translation y (fractions of W, H)

``mu = 0`` and a small ``exp(s)`` start it near the identity. In centred pixel coordinates c (image centre
at 0) the transform maps a source point to c' = A c + t, A = R(rotation) Sh(shear) * exp(log-scale).
The image is resampled with ``grid_sample`` (bilinear, zeros outside, i.e. the mean colour after the data
preprocessor's normalisation); label maps with nearest sampling and 255 outside; boxes become the bounding
box of their four warped corners, clipped to the image, and are dropped when less than ``min_visible`` of the
warped box stays inside or a side is under 1 pixel.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

COMPONENTS = ('rotation', 'log_scale', 'shear', 'translate_x', 'translate_y')
IGNORE_INDEX = 255


def affine_matrices(params: Tensor, height: int, width: int) -> Tensor:
    """(N, 5) components -> (N, 3, 3) forward maps in centred pixel coordinates (source -> target)."""
    rotation, log_scale, shear, tx, ty = params.unbind(dim=1)
    cos, sin, scale = rotation.cos(), rotation.sin(), log_scale.exp()
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rotate = torch.stack([cos, -sin, zero, sin, cos, zero, zero, zero, one], dim=1).view(-1, 3, 3)
    shear_m = torch.stack([one, shear, zero, zero, one, zero, zero, zero, one], dim=1).view(-1, 3, 3)
    forward = (rotate @ shear_m) * torch.stack([scale, scale, one], dim=1)[:, :, None]
    forward[:, 0, 2] = tx * width
    forward[:, 1, 2] = ty * height
    return forward


def sampling_grid(forward: Tensor, height: int, width: int) -> Tensor:
    """The ``grid_sample`` grid (N, H, W, 2) that warps an image by ``forward`` (align_corners=False)."""
    to_norm = forward.new_tensor([[2.0 / width, 0, 0], [0, 2.0 / height, 0], [0, 0, 1]])
    from_norm = forward.new_tensor([[width / 2.0, 0, 0], [0, height / 2.0, 0], [0, 0, 1]])
    theta = to_norm @ torch.linalg.inv(forward) @ from_norm  # target (normalised) -> source (normalised)
    return F.affine_grid(theta[:, :2], [forward.shape[0], 1, height, width], align_corners=False)


def warp_boxes(boxes: Tensor, forward: Tensor, height: int, width: int,
               min_visible: float) -> Tuple[Tensor, Tensor]:
    """Warp (K, 4) x1y1x2y2 pixel boxes by one (3, 3) forward map.

    Returns:
        The (K', 4) warped, clipped boxes and the (K,) bool mask of the boxes kept.
    """
    if boxes.numel() == 0:
        return boxes.reshape(0, 4), torch.zeros(0, dtype=torch.bool, device=boxes.device)
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    corners = torch.stack([torch.stack([x1, y1], 1), torch.stack([x2, y1], 1),
                           torch.stack([x1, y2], 1), torch.stack([x2, y2], 1)], dim=1)  # (K, 4, 2)
    centre = boxes.new_tensor([width / 2.0, height / 2.0])
    centred = corners - centre
    warped = centred @ forward[:2, :2].T + forward[:2, 2] + centre
    lo, hi = warped.min(dim=1).values, warped.max(dim=1).values
    full_area = (hi - lo).prod(dim=1)
    lo_c = torch.stack([lo[:, 0].clamp(0, width), lo[:, 1].clamp(0, height)], 1)
    hi_c = torch.stack([hi[:, 0].clamp(0, width), hi[:, 1].clamp(0, height)], 1)
    size = hi_c - lo_c
    keep = (size.min(dim=1).values >= 1) & (size.prod(dim=1) >= min_visible * full_area)
    return torch.cat([lo_c, hi_c], dim=1)[keep], keep


def warp_label_maps(labels: Tensor, grid: Tensor) -> Tensor:
    """(N, 1, H, W) integer label maps warped by nearest sampling; outside the image: 255."""
    shifted = (labels.float() + 1.0)  # 0 after sampling means "outside"
    warped = F.grid_sample(shifted, grid, mode='nearest', padding_mode='zeros', align_corners=False)
    warped = warped.round().long() - 1
    warped[warped < 0] = IGNORE_INDEX
    return warped.to(labels.dtype)


@MODELS.register_module()
class AffineAugmentor(nn.Module):
    """HARD-affine's augmentor: a learned, bounded distribution of affine transforms (see module docstring).

    Args:
        max_rotation: bound of the rotation, degrees.
        max_scale: bound of the scale: it stays in [1/max_scale, max_scale].
        max_shear: bound of the shear factor.
        max_translate: bound of the translation, as a fraction of the image width/height.
        init_std: exp(s) at the start (the spread of the pre-tanh components around mu = 0).
        min_visible: the fraction of a warped box's area that must stay inside the image to keep the box.
        learn_mean: keep the distribution centred on the identity and learn only its spread (False, the
            default) or learn the centre mu too (True; it can drift to a fixed zoom or shift, so that every
            augmented image is distorted alike). Why the default: configs/hard/README.md.

    Shapes: ``sample(n)`` -> (n, 5) components; ``forward(inputs, data_samples)`` takes the (N, 3, H, W)
    preprocessed batch and mmdet/mmseg data samples, and returns the warped batch and new data samples.
    """

    def __init__(self, max_rotation: float = 15.0, max_scale: float = 1.25, max_shear: float = 0.15,
                 max_translate: float = 0.1, init_std: float = 0.1, min_visible: float = 0.3,
                 learn_mean: bool = False) -> None:
        super().__init__()
        if max_scale < 1:
            raise ValueError(f'max_scale bounds the scale to [1/max_scale, max_scale]; it must be >= 1, got '
                             f'{max_scale}.')
        if not 0 < init_std:
            raise ValueError(f'init_std must be > 0, got {init_std}.')
        self.register_buffer('bounds', torch.tensor([math.radians(max_rotation), math.log(max_scale), max_shear,
                                                     max_translate, max_translate]))
        self.mean = nn.Parameter(torch.zeros(len(COMPONENTS))) if learn_mean else None
        if not learn_mean:
            self.register_buffer('fixed_mean', torch.zeros(len(COMPONENTS)))
        self.log_std = nn.Parameter(torch.full((len(COMPONENTS),), math.log(init_std)))
        self.min_visible = min_visible

    def sample(self, num: int, generator: Optional[torch.Generator] = None) -> Tensor:
        """(num, 5) transform components, differentiable with respect to the distribution's parameters.

        ``generator``: a CPU generator for the noise (e.g. one seeded per process); default torch's global one.
        """
        eps = torch.randn(num, len(COMPONENTS), generator=generator).to(self.log_std.device)
        return self.bounds * torch.tanh(self.centre + self.log_std.exp() * eps)

    @property
    def centre(self) -> Tensor:
        """mu: the learned centre, or the identity's zeros with ``learn_mean=False``."""
        return self.mean if self.mean is not None else self.fixed_mean

    def forward(self, inputs: Tensor, data_samples: Optional[List] = None, params: Optional[Tensor] = None,
                apply: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Optional[List]]:
        """Warp ``inputs`` (and the labels of ``data_samples``, in place) by transforms drawn per image.

        Args:
            inputs: (N, C, H, W) preprocessed images.
            data_samples: DetDataSample/SegDataSample list or None; their ``gt_instances``
                (boxes warped, dropped boxes removed with their labels) or ``gt_sem_seg`` are replaced.
            params: (N, 5) components to use instead of a sample.
            apply: (N,) bool: which images to warp; the others (and their labels) are left exactly as they
                are. Default: all.
            generator: the CPU generator of the noise (``sample``).

        The geometry (matrices, sampling grid) is computed in float32 outside autocast: in fp16/bf16 the
        identity grid alone would miss pixel centres by up to 1.5 px at a width of 1024.
        """
        n, _, height, width = inputs.shape
        params = self.sample(n, generator) if params is None else params
        rows = torch.arange(n, device=inputs.device) if apply is None else apply.nonzero().flatten()
        if rows.numel() == 0:
            return inputs, data_samples
        with torch.autocast(inputs.device.type, enabled=False):
            forward = affine_matrices(params[rows].float(), height, width)
            grid = sampling_grid(forward, height, width)
            warped_rows = F.grid_sample(inputs[rows].float(), grid, mode='bilinear', padding_mode='zeros',
                                        align_corners=False).to(inputs.dtype)
        warped = inputs.index_copy(0, rows, warped_rows) if rows.numel() < n else warped_rows
        if data_samples is not None:
            chosen = [data_samples[i] for i in rows.tolist()]
            self.warp_labels(chosen, forward.detach(), grid.detach(), height, width)
        return warped, data_samples

    def warp_labels(self, data_samples: Sequence, forward: Tensor, grid: Tensor, height: int, width: int) -> None:
        for i, sample in enumerate(data_samples):
            unsupported = [k for k in ('gt_panoptic_seg', 'gt_depth_map') if k in sample]
            if 'gt_instances' in sample and 'masks' in sample.gt_instances:
                unsupported.append('gt_instances.masks')
            if unsupported:
                raise ValueError(f'AffineAugmentor warps boxes and semantic label maps, not {unsupported}; '
                                 'use HARD with a box detector or a semantic segmentor, and load no instance '
                                 'masks (LoadAnnotations(with_mask=False)).')
            if 'gt_instances' in sample:
                instances = sample.gt_instances
                boxes = instances.bboxes
                tensor = boxes.tensor if hasattr(boxes, 'tensor') else boxes
                new_boxes, keep = warp_boxes(tensor.float(), forward[i], height, width, self.min_visible)
                kept = instances[keep]
                kept.bboxes = type(boxes)(new_boxes.to(tensor.dtype)) if hasattr(boxes, 'tensor') else new_boxes
                sample.gt_instances = kept
                if 'ignored_instances' in sample:  # warped the same way would need its own rule: drop them
                    sample.ignored_instances = sample.ignored_instances[
                        torch.zeros(len(sample.ignored_instances), dtype=torch.bool)]
            if 'gt_sem_seg' in sample:
                seg = sample.gt_sem_seg.data  # (1, H', W'): at the padded size after the seg preprocessor
                if tuple(seg.shape[-2:]) != (height, width):
                    raise ValueError(f'gt_sem_seg {tuple(seg.shape)} is not at the batch size {(height, width)}; '
                                     'HARD warps labels after the data preprocessor pads them to the batch.')
                sample.gt_sem_seg.data = warp_label_maps(seg[None], grid[i:i + 1])[0]
