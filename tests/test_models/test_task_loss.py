"""detector_loss_from_features equals the detector's own loss on its own features."""
import copy

import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import DefaultScope, MODELS

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.utils.task_loss import detector_loss_from_features
from mmkd_devtools.testing import clear_pretrained, packed_det_batch


@pytest.mark.parametrize('config', ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                                    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'])
def test_loss_from_features_matches_the_detector_loss(config, one_thread):
    cfg = get_config(config)
    model_cfg = copy.deepcopy(cfg.model)
    clear_pretrained(model_cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(model_cfg)
    detector.init_weights()
    detector.train()
    data = detector.data_preprocessor(packed_det_batch((96, 128), 2, num_classes=80), training=True)
    torch.manual_seed(0)  # the RPN/RoI samplers draw at random
    expected = detector.loss(data['inputs'], data['data_samples'])
    torch.manual_seed(0)
    feats = detector.extract_feat(data['inputs'])
    got = detector_loss_from_features(detector, feats, data['data_samples'])
    assert sorted(got) == sorted(expected)
    for key in expected:
        torch.testing.assert_close(torch.stack(list(got[key])) if isinstance(got[key], list) else got[key],
                                   torch.stack(list(expected[key])) if isinstance(expected[key], list)
                                   else expected[key], msg=key)


def test_a_model_without_heads_is_refused():
    with pytest.raises(TypeError, match='neither a bbox_head nor an roi_head'):
        detector_loss_from_features(torch.nn.Linear(2, 2), [], [])
