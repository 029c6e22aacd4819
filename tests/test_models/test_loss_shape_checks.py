"""Student and teacher maps a loss cannot compare: the error at the first step names the fix.

MMRazor's losses end in a bare ``AssertionError`` or a tensor-size ``RuntimeError`` on maps of other sizes,
channels or classes. Through the plugin's distillers (``ConfigurableDistiller`` in ``TeacherDistill``,
``PerLevelDistiller``, ``DenseHeadLogitDistiller``) the first call of such a loss must stop with a
``ValueError`` naming the loss, both shapes, both recorders and the fix, for real model pairs at tiny sizes:
SegFormer-B0 (1/4) against DeepLabV3 (1/16 in the demo config) logits (sizes), GFL's 68-channel regression
against ATSS's 4 channels (channels), a 21-class teacher against a 19-class student (classes). The fixes it
names must then run, and losses that take different shapes themselves (PKD's own resize, ACAM-KD's projection,
a connector's output) must not be refused.
``ResizedLoss`` must give MMRazor's CWD contiguous maps (SegFormer's ``conv_seg`` output is channels-last).
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_devtools.testing import packed_det_batch, packed_seg_batch, write_random_teacher
from mmkd_plugin.models.losses import NKDLoss, ResizedLoss
from tests.fixtures.runner_utils import DEMO

SEGFORMER = 'mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py'
DEEPLABV3 = osp.join(DEMO, 'deeplabv3_r18-w16_synthetic-cityscapes.py')
SEG_SIZE = (64, 128)
BN = dict(type='BN', requires_grad=True)
TINY_DET = dict(backbone=dict(depth=18, init_cfg=None), neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
                bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1))
LOGITS = dict(logits=dict(type='ModuleOutputs', source='decode_head.conv_seg'))
PAIR = dict(preds_S=dict(from_student=True, recorder='logits'), preds_T=dict(from_student=False, recorder='logits'))


@pytest.fixture(autouse=True)
def razor_scope():
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def segformer(**overrides):
    return dict(cfg_path=SEGFORMER, data_preprocessor=dict(size=SEG_SIZE), backbone=dict(init_cfg=None),
                decode_head=dict(norm_cfg=BN), **overrides)


def deeplabv3(num_classes=19):
    return dict(cfg_path=DEEPLABV3, data_preprocessor=dict(size=SEG_SIZE),
                decode_head=dict(num_classes=num_classes), auxiliary_head=dict(num_classes=num_classes))


def distill(tmp_path, student, teacher, distiller, teacher_forward='tensor'):
    cfg = dict(type='TeacherDistill', architecture=student, teacher=teacher, teacher_forward=teacher_forward,
               distiller=distiller)
    cfg['teacher_ckpt'] = write_random_teacher(copy.deepcopy(cfg), str(tmp_path / 'teacher.pth'))
    return MODELS.build(cfg).train()


def first_step(model, batch):
    data = model.data_preprocessor(batch, training=True)
    return model.loss(data['inputs'], data['data_samples'])


# --- ResizedLoss on non-contiguous maps ----------------------------------------------------------------------

@pytest.mark.parametrize('layout', ['channels_last', 'permuted'])
def test_resized_loss_gives_cwd_contiguous_maps(layout):
    gen = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(2, 5, 8, 16, generator=gen), torch.randn(2, 5, 16, 32, generator=gen)
    if layout == 'channels_last':
        odd_S, odd_T = student.to(memory_format=torch.channels_last), teacher.to(memory_format=torch.channels_last)
    else:  # a (N, H, W, C) buffer seen as (N, C, H, W)
        odd_S, odd_T = (x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) for x in (student, teacher))
    assert not odd_S.is_contiguous() and torch.equal(odd_S, student)
    loss = ResizedLoss(dict(type='ChannelWiseDivergence', tau=2.0, loss_weight=3.0), resize='teacher')
    values, grads = [], []
    for s, t in ((student, teacher), (odd_S, odd_T)):
        s, t = s.clone().requires_grad_(), t.clone().requires_grad_()
        value = loss(s, t)
        value.backward()
        values.append(value.detach())
        grads.append((s.grad, t.grad))
    torch.testing.assert_close(values[1], values[0])
    torch.testing.assert_close(grads[1], grads[0])


# --- MMRazor's losses through the distillers -----------------------------------------------------------------

def test_segformer_against_deeplabv3_logits_names_resized_loss(tmp_path):
    cwd = dict(type='ChannelWiseDivergence', tau=1, loss_weight=3)
    model = distill(tmp_path, segformer(), deeplabv3(), dict(
        type='ConfigurableDistiller', student_recorders=LOGITS, teacher_recorders=LOGITS,
        distill_losses=dict(loss_cwd=cwd), loss_forward_mappings=dict(loss_cwd=PAIR)))
    batch = packed_seg_batch(SEG_SIZE, 2)
    with pytest.raises(ValueError, match=(
            r"distill_losses\['loss_cwd'\] \(ChannelWiseDivergence\).* student gives \(2, 19, 16, 32\) from "
            r"student_recorders\['logits'\] \(ModuleOutputsRecorder on 'decode_head.conv_seg', in the student's "
            r"SegformerHead\) and the teacher \(2, 19, 4, 8\) from teacher_recorders\['logits'\] .*ASPPHead\)"
            r".*sizes differ \(16x32 vs 4x8\).*dict\(type='ResizedLoss', loss=dict\(type='ChannelWiseDivergence'"
            r".*resize='teacher'\)")):
        first_step(model, copy.deepcopy(batch))
    # The fix passes the check and runs on SegFormer's channels-last logits; PKD resizes by itself.
    fixed = distill(tmp_path, segformer(), deeplabv3(), dict(
        type='ConfigurableDistiller', student_recorders=LOGITS, teacher_recorders=LOGITS,
        distill_losses=dict(loss_cwd=dict(type='ResizedLoss', loss=cwd, resize='teacher'),
                            loss_pkd=dict(type='PKDLoss')),
        loss_forward_mappings=dict(loss_cwd=PAIR, loss_pkd=PAIR)))
    losses = first_step(fixed, batch)
    assert torch.isfinite(losses['distill.loss_cwd']) and torch.isfinite(losses['distill.loss_pkd'])


def test_mmrazor_cwd_on_channels_last_logits_of_the_same_size(tmp_path):
    """SegFormer-B0 against SegFormer-B0: same sizes, no ResizedLoss; CWD gets SegFormer's channels-last
    logits contiguous and equals CWD on contiguous copies of the recorded maps."""
    cwd = dict(type='ChannelWiseDivergence', tau=1, loss_weight=3)
    model = distill(tmp_path, segformer(), segformer(), dict(
        type='ConfigurableDistiller', student_recorders=LOGITS, teacher_recorders=LOGITS,
        distill_losses=dict(loss_cwd=cwd), loss_forward_mappings=dict(loss_cwd=PAIR)))
    losses = first_step(model, packed_seg_batch(SEG_SIZE, 2))
    recorded = model.distiller.student_recorders.get_recorder('logits').get_record_data()
    assert not recorded.is_contiguous()  # the case MMRazor's .view failed on
    teacher = model.distiller.teacher_recorders.get_recorder('logits').get_record_data()
    expected = MODELS.build(cwd)(recorded.contiguous(), teacher.contiguous())
    torch.testing.assert_close(losses['distill.loss_cwd'], expected)


def test_gfl_regression_against_atss_names_a_connector(tmp_path):
    student_rec = dict(reg=dict(type='ModuleOutputs', source='bbox_head.gfl_reg'))  # called once per level
    teacher_rec = dict(reg=dict(type='ModuleOutputs', source='bbox_head.atss_reg'))
    mapping = dict(s_feature=dict(from_student=True, recorder='reg', record_idx='level'),
                   t_feature=dict(from_student=False, recorder='reg', record_idx='level'))
    distiller = dict(type='PerLevelDistiller', num_levels=5, student_recorders=student_rec,
                     teacher_recorders=teacher_rec, level_losses=dict(loss_reg=dict(type='L2Loss')),
                     level_mappings=dict(loss_reg=mapping))
    student = dict(cfg_path='mmdet::gfl/gfl_r50_fpn_1x_coco.py', **TINY_DET)
    teacher = dict(cfg_path='mmdet::atss/atss_r50_fpn_1x_coco.py', **TINY_DET)
    batch = packed_det_batch((64, 64), 2)
    model = distill(tmp_path, student, teacher, distiller)
    with pytest.raises(ValueError, match=(
            r"distill_losses\['loss_reg_l0'\] \(L2Loss\) compares s_feature and t_feature position by position, "
            r"but the student gives \(2, 68, 8, 8\) from student_recorders\['reg'\] \(ModuleOutputsRecorder on "
            r"'bbox_head.gfl_reg', in the student's GFLHead, record_idx=0\) and the teacher \(2, 4, 8, 8\) .*"
            r"'bbox_head.atss_reg', in the teacher's ATSSHead, record_idx=0\).*channels differ \(68 vs 4\).*"
            r"type='ConvModuleConnector', in_channel=68, out_channel=4.*level_connectors.*"
            r"ACAMKDLoss\(student_channels=68, teacher_channels=4")):
        first_step(model, copy.deepcopy(batch))
    # After the connector it names the shapes match; ACAM-KD projects by itself and is not checked.
    with_connector = dict(distiller, level_connectors=dict(s_proj=dict(
        type='ConvModuleConnector', in_channel=68, out_channel=4, act_cfg=None)), level_mappings=dict(loss_reg=dict(
            mapping, s_feature=dict(mapping['s_feature'], connector='s_proj'))))
    losses = first_step(distill(tmp_path, student, teacher, with_connector), copy.deepcopy(batch))
    assert all(torch.isfinite(losses[f'distill.loss_reg_l{i}']) for i in range(5))
    acam = dict(distiller, level_losses=dict(loss_reg=dict(type='ACAMKDLoss', student_channels=68, teacher_channels=4,
                                                            num_masks=2)),
                level_mappings=dict(loss_reg=dict(preds_S=dict(mapping['s_feature']),
                                                  preds_T=dict(mapping['t_feature']))))
    assert torch.isfinite(first_step(distill(tmp_path, student, teacher, acam), batch)['distill.loss_reg_l0'])


def test_21_class_teacher_against_19_class_student_says_the_class_sets_differ(tmp_path):
    model = distill(tmp_path, deeplabv3(19), deeplabv3(21), dict(
        type='ConfigurableDistiller', student_recorders=LOGITS, teacher_recorders=LOGITS,
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=1)), loss_forward_mappings=dict(loss_kl=PAIR)))
    with pytest.raises(ValueError, match=(
            r"distill_losses\['loss_kl'\] \(KLDivergence\).*\(2, 19, 4, 8\).*\(2, 21, 4, 8\).*class logits: the "
            r"student's decode_head \(ASPPHead\) predicts 19 classes, the teacher's decode_head \(ASPPHead\) 21\. "
            r"The class sets differ.*teacher trained on the student's classes, or distil features")):
        first_step(model, packed_seg_batch(SEG_SIZE, 2))


def test_dense_head_logits_of_other_class_counts_say_the_class_sets_differ(tmp_path):
    """The student's logits come from a method recorder (``GFLHead.loss_by_feat_single``) here."""
    student = dict(cfg_path='mmdet::gfl/gfl_r50_fpn_1x_coco.py', **TINY_DET)
    teacher = copy.deepcopy(student)
    teacher['bbox_head'] = dict(teacher['bbox_head'], num_classes=4)
    model = distill(tmp_path, student, teacher, dict(
        type='DenseHeadLogitDistiller', head='GFLHead', num_levels=5, loss=dict(type='NKDLoss')))
    with pytest.raises(ValueError, match=(
            r"distill_losses\['loss_logits_l0'\] \(NKDLoss\).*\(2, 3, 8, 8\) from student_recorders\['head'\] "
            r"\(MethodInputsRecorder on 'mmdet.models.dense_heads.gfl_head.GFLHead.loss_by_feat_single', "
            r"record_idx=0, data_idx=1\).*\(2, 4, 8, 8\).*student's bbox_head \(GFLHead\) predicts 3 classes, "
            r"the teacher's bbox_head \(GFLHead\) 4")):
        first_step(model, packed_det_batch((64, 64), 2))


def test_nkd_says_the_class_sets_differ():
    with pytest.raises(ValueError, match=r'\(2, 19, 8, 8\).*\(2, 21, 8, 8\) differ; their class dimensions differ '
                                         r'\(19 vs 21\).*different class sets.*trained on the student\'s classes'):
        NKDLoss()(torch.randn(2, 19, 8, 8), torch.randn(2, 21, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long))
