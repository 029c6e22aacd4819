"""Give the teacher the input its own ``data_preprocessor`` defines, not the student's.

A distillation algorithm preprocesses each batch once, with the student's preprocessor (MMRazor does
the same). A teacher trained with other normalisation (a caffe-style checkpoint: BGR, mean only, under
a pytorch-style student: RGB, mean and std) would silently receive inputs it was never trained on. The
normalisation is per-channel affine, so the student's batch is converted exactly:

    x_T = flip(x_S) * flip(std_S) / std_T + (flip(mean_S) - mean_T) / std_T

where ``flip`` reverses the channels when exactly one of the two converts BGR to RGB; the padded area
(right and bottom of each image, outside its ``img_shape``) is set to the teacher's pad value. Geometry
(padding multiples, fixed sizes) cannot be converted: the teacher sees the student's padded batch, and
a warning names both settings when they differ (convolutional teachers take any size; a teacher that
needs its own must get the same values in the student config).
"""
import logging
from typing import List, Optional

import torch
from mmengine.logging import print_log
from torch import Tensor, nn


def _normalisation(pre: nn.Module):
    """(mean, std, converts BGR<->RGB) of an MMEngine/mmdet/mmseg image preprocessor."""
    channels = getattr(pre, 'mean', None)
    if getattr(pre, '_enable_normalize', False) and channels is not None:
        mean, std = pre.mean.flatten().float(), pre.std.flatten().float()
    else:
        mean, std = torch.zeros(3), torch.ones(3)
    flip = bool(getattr(pre, '_channel_conversion', getattr(pre, 'channel_conversion', False)))
    return mean, std, flip


def _geometry(pre: nn.Module) -> dict:
    keys = ('pad_size_divisor', 'size', 'size_divisor')
    return {k: getattr(pre, k) for k in keys if getattr(pre, k, None) not in (None, 1)}


def _pad_value(pre: nn.Module) -> float:
    return float(getattr(pre, 'pad_value', getattr(pre, 'pad_val', 0)))


class TeacherInputs(nn.Module):
    """Convert a batch the student's preprocessor made into the one the teacher's would have made.

    Args:
        student_pre: the student's ``data_preprocessor``.
        teacher_pre: the teacher's ``data_preprocessor``.

    A difference in padding or size (``pad_size_divisor``, ``size``, ``size_divisor``), which no
    per-pixel conversion can undo, is logged as a warning naming both settings; ``geometry`` holds
    both (``dict(student=..., teacher=...)``, the settings that are not 1 or None).
    """

    def __init__(self, student_pre: nn.Module, teacher_pre: nn.Module) -> None:
        super().__init__()
        geometry_s, geometry_t = _geometry(student_pre), _geometry(teacher_pre)
        self.geometry = dict(student=geometry_s, teacher=geometry_t)  # read by the preflight's summary
        if geometry_s != geometry_t:
            print_log(f'The teacher\'s data_preprocessor pads or resizes differently ({geometry_t}) from '
                      f'the student\'s ({geometry_s}); the teacher gets the student\'s batch as it is. If the '
                      'teacher needs its own sizes, set them in the student config too.',
                      logger='current', level=logging.WARNING)
        mean_s, std_s, flip_s = _normalisation(student_pre)
        mean_t, std_t, flip_t = _normalisation(teacher_pre)
        self.flip = flip_s != flip_t
        if self.flip:
            mean_s, std_s = mean_s.flip(0), std_s.flip(0)
        scale, shift = std_s / std_t, (mean_s - mean_t) / std_t
        self.identity = bool(not self.flip and torch.equal(scale, torch.ones_like(scale))
                             and torch.equal(shift, torch.zeros_like(shift)))
        self.register_buffer('scale', scale.view(1, -1, 1, 1), persistent=False)
        self.register_buffer('shift', shift.view(1, -1, 1, 1), persistent=False)
        self.pad_value = _pad_value(teacher_pre)
        self.settings = (f'student mean {mean_s.tolist()} std {std_s.tolist()}, teacher mean '
                         f'{mean_t.tolist()} std {std_t.tolist()}, channels flipped: {self.flip}')

    def forward(self, inputs: Tensor, data_samples: Optional[List] = None) -> Tensor:
        """(N, C, H, W) student input -> the teacher's input."""
        if self.identity:
            return inputs
        out = inputs.flip(1) if self.flip else inputs
        out = out * self.scale.to(out.dtype) + self.shift.to(out.dtype)
        for i, sample in enumerate(data_samples or []):
            h, w = sample.metainfo.get('img_shape', out.shape[-2:])[:2]
            out[i, :, h:, :] = self.pad_value
            out[i, :, :, w:] = self.pad_value
        return out
