"""DenseHeadLogitDistiller wires each dense head's logits and labels to the loss (configs/nkd/*).

For every head of HEAD_LOGITS with a shipped config, the loss of each level must receive the student's
and the teacher's classification logits of that level (compared with an independent forward of both
heads; for FCOS the flattened order of its loss) and labels of the matching length, mmdet's convention
(class index for positives, C for negatives).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_devtools.testing import offline_model_cfg, packed_det_batch
from mmkd_plugin.models.distillers import HEAD_LOGITS
from tests.fixtures.runner_utils import REPO

NKD = osp.join(REPO, 'configs', 'nkd')
CONFIGS = {
    'RetinaHead': 'nkd_logits_retina-r101_retina-r50_2x_coco.py',
    'GFLHead': 'nkd_logits_gfl-r101_gfl-r50_2x_coco.py',
    'FCOSHead': 'nkd_logits_fcos-r101_fcos-r50_2x_coco.py',
    'RTMDetSepBNHead': 'nkd_logits_rtmdet-s_rtmdet-tiny_300e_coco.py',
}


def flat(levels):
    """FCOS's order: level by level, each (N, H, W) flattened."""
    return torch.cat([c.permute(0, 2, 3, 1).reshape(-1, c.shape[1]) for c in levels])


@pytest.mark.parametrize('head', sorted(CONFIGS))
def test_each_level_gets_its_logits_and_labels(head, tmp_path):
    cfg = Config.fromfile(osp.join(NKD, CONFIGS[head]))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(offline_model_cfg(cfg, str(tmp_path)))
        model.init_weights()
        model.train()
        data = model.data_preprocessor(packed_det_batch((128, 128), 2, seed=1, boxes_per_image=(4, 3)), True)
        received = {}
        for name, loss in model.distiller.distill_losses.items():
            loss.register_forward_hook(lambda m, args, kwargs, out, name=name: received.update({name: kwargs}),
                                       with_kwargs=True)
        losses = model.loss(data['inputs'], data['data_samples'])
        with torch.no_grad():
            student = model.architecture.bbox_head(model.architecture.extract_feat(data['inputs']))[0]
            teacher = model.teacher.bbox_head(model.teacher.extract_feat(data['inputs']))[0]
    num_classes = model.architecture.bbox_head.num_classes
    levels = [flat(student)] if head == 'FCOSHead' else student
    teachers = [flat(teacher)] if head == 'FCOSHead' else teacher
    assert sorted(received) == [f'loss_nkd_l{i}' for i in range(len(levels))]
    positives = 0
    for i, (s, t) in enumerate(zip(levels, teachers)):
        got = received[f'loss_nkd_l{i}']
        torch.testing.assert_close(got['preds_S'], s, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got['preds_T'], t)
        rows = s.shape[0] if s.dim() == 2 else s.shape[0] * s.shape[2] * s.shape[3] * (s.shape[1] // num_classes)
        labels = got['gt_labels']
        assert labels.numel() == rows
        assert int(labels.min()) >= 0 and int(labels.max()) <= num_classes
        positives += int((labels < num_classes).sum())
        assert ('avg_factor' in got) == (HEAD_LOGITS[head].avg_factor is not None)
        assert torch.isfinite(losses[f'distill.loss_nkd_l{i}'])
    assert positives > 0


def test_wrong_head_name_is_refused_with_the_fix(tmp_path):
    cfg = Config.fromfile(osp.join(NKD, CONFIGS['GFLHead']))
    cfg.model.distiller.head = 'RetinaHead'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with pytest.raises(ValueError, match=r"student's bbox_head is GFLHead; set head='GFLHead'"):
            MODELS.build(offline_model_cfg(cfg, str(tmp_path)))
    rtmdet = Config.fromfile(osp.join(NKD, CONFIGS['RTMDetSepBNHead']))
    rtmdet.model.distiller.head = 'RTMDetHead'  # a base class of RTMDetSepBNHead: other logit modules
    with DefaultScope.overwrite_default_scope(rtmdet.default_scope):
        with pytest.raises(ValueError, match="bbox_head is RTMDetSepBNHead; set head='RTMDetSepBNHead'"):
            MODELS.build(offline_model_cfg(rtmdet, str(tmp_path)))
    cfg.model.distiller.head = 'YOLOXHead'
    with DefaultScope.overwrite_default_scope('mmrazor'):
        with pytest.raises(ValueError, match="head 'YOLOXHead' is not supported; supported heads: .*'FCOSHead'"):
            MODELS.build(cfg.model.distiller)
