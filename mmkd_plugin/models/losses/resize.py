"""Student and teacher maps at different strides: resize one to the other, or say so.

Heterogeneous pairs produce maps of different sizes (SegFormer's logits at 1/4 against DeepLabV3's at 1/8;
a Swin teacher's stage against a ResNet student's). The losses that compare maps position by position take
``resize``: ``'teacher'`` resizes the teacher's map to the student's size, ``'student'`` the student's to the
teacher's, bilinearly with ``align_corners`` as the heads use it (mmseg's decode heads: False by default);
without it a size mismatch stops with both shapes and the option. ``ResizedLoss`` gives any distillation loss
(MMRazor's CWD, PKD, MGD, ...) the same option, and hands it contiguous maps: SegFormer's ``conv_seg`` output is
channels-last, on which MMRazor's ``.view`` calls (CWD's) fail.
"""
from typing import Optional, Tuple

import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS
from torch import Tensor, nn

RESIZE_MODES = (None, 'teacher', 'student')


def check_resize(resize: Optional[str]) -> None:
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES} (which map is resized to the other's size), "
                         f'got {resize!r}.')


def match_sizes(preds_S: Tensor, preds_T: Tensor, resize: Optional[str], align_corners: bool,
                owner: str) -> Tuple[Tensor, Tensor]:
    """``(preds_S, preds_T)`` with equal spatial sizes (last two dimensions).

    Raises:
        ValueError: the sizes differ and ``resize`` is None; the message gives both shapes and the option.
    """
    size_S, size_T = tuple(preds_S.shape[-2:]), tuple(preds_T.shape[-2:])
    if size_S == size_T:
        return preds_S, preds_T
    if resize is None:
        raise ValueError(f'{owner}: the student map {tuple(preds_S.shape)} and the teacher map '
                         f'{tuple(preds_T.shape)} differ in size. Set resize=\'teacher\' (the teacher map is '
                         "resized to the student's, bilinearly; align_corners as the heads use it) or "
                         "resize='student', or record layers of the same stride.")
    if resize == 'teacher':
        return preds_S, F.interpolate(preds_T, size=size_S, mode='bilinear', align_corners=align_corners)
    return F.interpolate(preds_S, size=size_T, mode='bilinear', align_corners=align_corners), preds_T


@MODELS.register_module()
class ResizedLoss(nn.Module):
    """Any distillation loss on maps of different sizes: one map is resized first (``match_sizes``), and
    both are made contiguous (a channels-last map, as SegFormer's logits are, breaks ``.view`` in the loss).

    Example (MMRazor's CWD between SegFormer logits at 1/4 and DeepLabV3 logits at 1/8)::

        loss_cwd=dict(type='ResizedLoss', resize='teacher', align_corners=False,
                      loss=dict(type='ChannelWiseDivergence', tau=1, loss_weight=3))

    Args:
        loss: the wrapped loss's config; it is called as ``loss(preds_S, preds_T, **kwargs)``.
        resize: ``'teacher'`` (default) or ``'student'``: which map is resized.
        align_corners: as in ``F.interpolate``; match the heads' setting.
    """

    def __init__(self, loss: dict, resize: str = 'teacher', align_corners: bool = False) -> None:
        super().__init__()
        check_resize(resize)
        if resize is None:
            raise ValueError("ResizedLoss needs resize='teacher' or 'student'; use the loss itself otherwise.")
        with DefaultScope.overwrite_default_scope(loss.get('_scope_', 'mmrazor')):  # MMRazor's losses by default
            self.loss = MODELS.build(loss)
        self.resize = resize
        self.align_corners = align_corners

    def forward(self, preds_S: Tensor, preds_T: Tensor, **kwargs) -> Tensor:
        preds_S, preds_T = match_sizes(preds_S, preds_T, self.resize, self.align_corners,
                                       type(self.loss).__name__)
        return self.loss(preds_S.contiguous(), preds_T.contiguous(), **kwargs)
