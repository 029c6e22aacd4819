"""PerLevelDistiller expands one template per level exactly as the hand-written configs spell it out."""
import pytest
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

import mmkd_plugin  # noqa: F401
from mmkd_plugin.models.distillers import expand_levels

FPN = dict(student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
           teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')))


@pytest.fixture(autouse=True)
def razor_scope():
    """Build in MMRazor's scope whatever scope an earlier test left as the default."""
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def test_expansion_matches_the_hand_written_mappings():
    losses, connectors, mappings = expand_levels(
        3, dict(loss_mgd=dict(type='MGDLoss', alpha_mgd=2e-5, loss_weight=[1.0, 0.5, 0.25])),
        dict(s=dict(type='MGDConnector', student_channels=8, teacher_channels=8)),
        dict(loss_mgd=dict(preds_S=dict(from_student=True, recorder='fpn', data_idx='level', connector='s'),
                           preds_T=dict(from_student=False, recorder='fpn', data_idx='level'))))
    assert losses == {f'loss_mgd_l{i}': dict(type='MGDLoss', alpha_mgd=2e-5, loss_weight=w)
                      for i, w in enumerate([1.0, 0.5, 0.25])}
    assert connectors == {f's_l{i}': dict(type='MGDConnector', student_channels=8, teacher_channels=8)
                          for i in range(3)}
    assert mappings == {f'loss_mgd_l{i}': dict(
        preds_S=dict(from_student=True, recorder='fpn', data_idx=i, connector=f's_l{i}'),
        preds_T=dict(from_student=False, recorder='fpn', data_idx=i)) for i in range(3)}


def test_the_distiller_builds_one_loss_per_level():
    distiller = MODELS.build(dict(
        type='PerLevelDistiller', num_levels=5, **FPN,
        level_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)),
        level_mappings=dict(loss_cwd=dict(preds_S=dict(from_student=True, recorder='fpn', data_idx='level'),
                                          preds_T=dict(from_student=False, recorder='fpn', data_idx='level')))))
    assert sorted(distiller.distill_losses) == [f'loss_cwd_l{i}' for i in range(5)]
    assert distiller.loss_forward_mappings['loss_cwd_l3']['preds_T']['data_idx'] == 3


@pytest.mark.parametrize('kwargs, text', [
    (dict(level_losses=dict(loss_x=dict(type='L2Loss', loss_weight=[1.0, 2.0])),
          level_mappings=dict(loss_x=dict(preds_S=dict(from_student=True, recorder='fpn')))),
     'loss_weight has 2 entries for 3 levels'),
    (dict(level_losses=dict(loss_x=dict(type='L2Loss')), level_mappings=dict(loss_y=dict())),
     r"level_mappings \['loss_y'\] name no loss"),
    (dict(level_losses=dict(loss_x=dict(type='L2Loss')), distill_losses=dict(loss_x_l0=dict(type='L2Loss'))),
     r"distill_losses \['loss_x_l0'\] clash with the per-level names"),
])
def test_mistakes_are_named(kwargs, text):
    with pytest.raises(ValueError, match=text):
        MODELS.build(dict(type='PerLevelDistiller', num_levels=3, **FPN, **kwargs))
