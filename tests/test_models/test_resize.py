"""Maps of different sizes (heterogeneous pairs): the ``resize`` option of the losses, and its error.

The reference resizes with ``F.interpolate`` itself and calls the loss on equal sizes: the option must give
exactly that, for our losses (NKD, ACAM-KD) and, through ``ResizedLoss``, for MMRazor's (CWD).
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_plugin.models.losses import ACAMKDLoss, NKDLoss, ResizedLoss


def logits(size, seed):
    return torch.randn(2, 5, *size, generator=torch.Generator().manual_seed(seed))


LABELS = torch.randint(0, 5, (2, 1, 32, 64), generator=torch.Generator().manual_seed(9))


@pytest.mark.parametrize('align_corners', [False, True])
def test_nkd_resizes_the_teacher_to_the_student(align_corners):
    student, teacher = logits((8, 16), 0), logits((16, 32), 1)  # e.g. 1/8 against 1/4
    loss = NKDLoss(resize='teacher', align_corners=align_corners)
    expected = NKDLoss()(student, F.interpolate(teacher, (8, 16), mode='bilinear', align_corners=align_corners),
                         LABELS)
    assert float(loss(student, teacher, LABELS)) == pytest.approx(float(expected), rel=1e-6)
    upsampled = NKDLoss()(F.interpolate(student, (16, 32), mode='bilinear', align_corners=align_corners),
                          teacher, LABELS)
    assert float(NKDLoss(resize='student', align_corners=align_corners)(student, teacher, LABELS)) == \
        pytest.approx(float(upsampled), rel=1e-6)


def test_without_resize_the_error_names_both_shapes_and_the_option():
    student, teacher = logits((8, 16), 0), logits((16, 32), 1)
    with pytest.raises(ValueError, match=r"\(2, 5, 8, 16\).*\(2, 5, 16, 32\).*resize='teacher'"):
        NKDLoss()(student, teacher, LABELS)
    with pytest.raises(ValueError, match='resize must be one of'):
        NKDLoss(resize='bilinear')


def test_acam_kd_resizes_the_teacher():
    torch.manual_seed(0)
    loss = ACAMKDLoss(5, 5, num_masks=2, resize='teacher')
    student, teacher = logits((8, 16), 0), logits((16, 32), 1)
    resized = F.interpolate(teacher, (8, 16), mode='bilinear', align_corners=False)
    assert float(loss(student, teacher)) == pytest.approx(float(loss(student, resized)), rel=1e-6)


def test_resized_loss_wraps_mmrazor_cwd():
    cwd = dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=3.0)
    with DefaultScope.overwrite_default_scope('mmdet'):  # another default scope: the inner loss is MMRazor's
        assert isinstance(ResizedLoss(cwd).loss, MODELS.get('ChannelWiseDivergence'))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        wrapped = MODELS.build(dict(type='ResizedLoss', loss=cwd, resize='teacher'))
    assert isinstance(wrapped, ResizedLoss)
    student, teacher = logits((8, 16), 0), logits((16, 32), 1)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        reference = MODELS.build(cwd)
    expected = reference(student, F.interpolate(teacher, (8, 16), mode='bilinear', align_corners=False))
    assert float(wrapped(student, teacher)) == pytest.approx(float(expected), rel=1e-6)
    with pytest.raises(ValueError, match="resize='teacher' or 'student'"):
        ResizedLoss(cwd, resize=None)
