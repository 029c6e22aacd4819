"""The offline step's inputs (mmkd_devtools.testing): what a stock config reads beyond images and boxes.

``tools/check_config.py``, the coverage script and the test suite step stock models with these batches, so a
model that reads something more (precomputed proposals) or downloads at init (a typeless ``init_cfg``) must
get it, or lose it, here, not fail as if the pairing were wrong.
"""
import copy

import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import DefaultScope, MODELS

import mmkd_plugin  # noqa: F401
from mmkd_devtools.testing import clear_pretrained, packed_batch_for


def test_a_typeless_checkpoint_init_cfg_is_cleared_and_other_inits_kept():
    """PVT's init_weights loads ``init_cfg.checkpoint`` whatever its type; mmdet's PVT configs give none."""
    model = copy.deepcopy(get_config('mmdet::pvt/retinanet_pvt-t_fpn_1x_coco.py').model)
    assert model.backbone.init_cfg.checkpoint.startswith('https://') and 'type' not in model.backbone.init_cfg
    model.neck.init_cfg = dict(type='Xavier', layer='Conv2d')
    clear_pretrained(model)
    assert model.backbone.init_cfg is None and model.neck.init_cfg == dict(type='Xavier', layer='Conv2d')


def test_fast_rcnn_gets_precomputed_proposals(one_thread):
    """Fast R-CNN has no RPN: its RoI head reads ``data_samples[i].proposals``; other detectors get none."""
    cfg = copy.deepcopy(get_config('mmdet::fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py').model)
    clear_pretrained(cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg)
    detector.train()
    batch = packed_batch_for(detector, (96, 128), (64, 128))
    for sample in batch['data_samples']:
        boxes, gt = sample.proposals.bboxes, sample.gt_instances.bboxes
        assert boxes.shape == (len(gt) + 16, 4) and sample.proposals.scores.shape == (len(gt) + 16,)
        assert (boxes[:, 2:] >= boxes[:, :2]).all() and (boxes >= 0).all()
        assert (boxes[:, [0, 2]] <= 128).all() and (boxes[:, [1, 3]] <= 96).all()
    torch.manual_seed(0)
    data = detector.data_preprocessor(batch, training=True)
    losses = detector.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_bbox'])
    for sample in data['data_samples']:  # what the stock step stops on without them
        del sample.proposals
    with pytest.raises(AssertionError):
        detector.loss(data['inputs'], data['data_samples'])
    retina = copy.deepcopy(get_config('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py').model)
    clear_pretrained(retina)
    with DefaultScope.overwrite_default_scope('mmdet'):
        retina = MODELS.build(retina)
    assert 'proposals' not in packed_batch_for(retina, (96, 128), (64, 128))['data_samples'][0]
