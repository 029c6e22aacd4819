"""The student's optimizer recipe survives distillation: same parameter groups as the student alone,
the distiller in a group of its own, the teacher in none (DistillOptimWrapperConstructor)."""
import copy

import pytest
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from mmkd_plugin.engine.optimizers import for_distillation
from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import DEMO, build_runner, runner_cfg

BEIT_SEGMENTOR = dict(
    type='mmseg.EncoderDecoder',
    data_preprocessor=dict(type='mmseg.SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(64, 64)),
    backbone=dict(type='mmseg.BEiT', img_size=(64, 64), patch_size=16, embed_dims=32, num_layers=4, num_heads=2,
                  mlp_ratio=2, out_indices=(3, ), init_values=0.1),
    decode_head=dict(type='mmseg.FCNHead', in_channels=32, channels=16, num_convs=1, concat_input=False,
                     num_classes=19, in_index=0, loss_decode=dict(type='CrossEntropyLoss')))
# mmseg's BEiT recipe (upernet_beit-base...py): layer-wise lr decay by the backbone's layer ids.
LAYER_DECAY = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-5, weight_decay=0.05),
                   constructor='LayerDecayOptimizerConstructor',
                   paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.9))


def param_groups(optim_wrapper, model):
    """(parameter names in ``model``, lr, weight_decay) per group; names of other modules as '?'."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [(sorted(names.get(id(p), '?') for p in g['params']), g['lr'], g['weight_decay'])
            for g in optim_wrapper.optimizer.param_groups if g['params']]


@pytest.fixture(scope='module')
def beit_distill(tmp_path_factory):
    cfg = dict(type='TeacherDistill', architecture=copy.deepcopy(BEIT_SEGMENTOR),
               teacher=copy.deepcopy(BEIT_SEGMENTOR), teacher_ckpt=None,
               distiller=dict(type='ConfigurableDistiller', distill_losses=dict(), loss_forward_mappings=dict()))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        cfg['teacher_ckpt'] = write_random_teacher(cfg, str(tmp_path_factory.mktemp('beit') / 'teacher.pth'))
        return MODELS.build(cfg)


def test_layer_decay_groups_of_the_student_are_those_of_the_student_alone(beit_distill):
    with DefaultScope.overwrite_default_scope('mmseg'):
        alone = MODELS.build(copy.deepcopy(BEIT_SEGMENTOR))
        expected = param_groups(build_optim_wrapper(alone, copy.deepcopy(LAYER_DECAY)), alone)
        cfg = for_distillation(beit_distill, copy.deepcopy(LAYER_DECAY))
        got = param_groups(build_optim_wrapper(beit_distill, cfg), beit_distill.architecture)
        with pytest.raises(AttributeError, match='backbone'):  # the stock constructor on the algorithm
            build_optim_wrapper(beit_distill, copy.deepcopy(LAYER_DECAY))
    assert cfg['constructor'] == 'DistillOptimWrapperConstructor'
    assert cfg['student_constructor'] == 'LayerDecayOptimizerConstructor'
    assert len({lr for _, lr, _ in expected}) == 6  # layers 0..5 of a 4-layer BEiT: the decay is real
    assert got == expected
    assert all('?' not in names for names, _, _ in got)  # nothing of the teacher



def test_distiller_parameters_beside_layer_decay_groups_carry_names(beit_distill):
    """mmseg's layer-decay groups carry ``param_names``; torch (>= 2.6) refuses an unnamed group beside them
    (the BEiT/MAE configs with ACAM-KD stopped at ``add_param_group``), so the distiller's group is named."""
    import torch.nn as nn
    beit_distill.distiller.add_module('probe', nn.Linear(3, 2))
    try:
        with DefaultScope.overwrite_default_scope('mmseg'):
            wrapper = build_optim_wrapper(beit_distill, for_distillation(beit_distill, copy.deepcopy(LAYER_DECAY)))
    finally:
        del beit_distill.distiller.probe
    last = wrapper.optimizer.param_groups[-1]
    assert last['param_names'] == ['distiller.probe.weight', 'distiller.probe.bias']
    assert last['lr'] == pytest.approx(3e-5) and last['weight_decay'] == pytest.approx(0.05)
    assert all('param_names' in g for g in wrapper.optimizer.param_groups)

def test_custom_keys_apply_to_the_student_and_the_distiller_gets_its_own_group(tmp_path, synthetic_coco):
    """ACAM-KD demo through a real Runner: ``custom_keys`` on ``backbone`` as for the student alone; the
    fusion in the distiller's group (``decay_mult`` 0.5), the selection units in their own (its
    ``custom_keys``: decay 0); the teacher nowhere."""
    paramwise = dict(custom_keys={'backbone': dict(lr_mult=0.1)}, norm_decay_mult=0.0)
    cfg = runner_cfg(f'{DEMO}/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py', str(tmp_path),
                     synthetic_coco['data_root'], 1)
    cfg.optim_wrapper.paramwise_cfg = paramwise
    cfg.optim_wrapper.distiller_paramwise_cfg = dict(decay_mult=0.5, custom_keys={'.masks.': dict(decay_mult=0.0)})
    with DefaultScope.overwrite_default_scope('mmrazor'):
        cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp_path / 'teacher.pth'))
    runner = build_runner(cfg)
    algorithm = runner.model
    optim_wrapper = runner.build_optim_wrapper(copy.deepcopy(cfg.optim_wrapper))
    student_cfg = copy.deepcopy(cfg.optim_wrapper)
    student_cfg.pop('distiller_paramwise_cfg')
    with DefaultScope.overwrite_default_scope('mmdet'):
        alone = MODELS.build(copy.deepcopy(cfg.model.architecture))
        expected = param_groups(build_optim_wrapper(alone, student_cfg), alone)
    groups = param_groups(optim_wrapper, algorithm.architecture)
    assert groups[:-2] == expected
    assert any(lr == pytest.approx(0.1 * cfg.optim_wrapper.optimizer.lr) for _, lr, _ in expected)
    fusion, units = optim_wrapper.optimizer.param_groups[-2:]
    own = {n: id(p) for n, p in algorithm.named_parameters()
           if p.requires_grad and not n.startswith(('architecture.', 'teacher.'))}
    masks = {i for n, i in own.items() if '.masks.' in n}
    assert masks and {id(p) for p in units['params']} == masks
    assert {id(p) for p in fusion['params']} == set(own.values()) - masks
    lr, decay = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    assert fusion['lr'] == units['lr'] == lr
    assert fusion['weight_decay'] == pytest.approx(0.5 * decay) and units['weight_decay'] == 0.0
    teacher = {id(p) for p in algorithm.teacher.parameters()}
    assert not any(id(p) in teacher for g in optim_wrapper.optimizer.param_groups for p in g['params'])


def test_bad_distiller_paramwise_key_is_named():
    from mmkd_plugin.engine.optimizers import DistillOptimWrapperConstructor
    with pytest.raises(KeyError, match="lr_mult.*decay_mult.*'weight_decay'"):
        DistillOptimWrapperConstructor(dict(optimizer=dict(type='SGD', lr=0.1),
                                            distiller_paramwise_cfg=dict(weight_decay=0.0)))


def test_algorithm_names_in_student_custom_keys_are_refused():
    from mmkd_plugin.engine.optimizers import DistillOptimWrapperConstructor
    with pytest.raises(ValueError, match=r"\['architecture.backbone'\] name the distillation algorithm.*drop"):
        DistillOptimWrapperConstructor(dict(optimizer=dict(type='SGD', lr=0.1)),
                                       dict(custom_keys={'architecture.backbone': dict(lr_mult=0.1)}))


def test_a_built_optimizer_is_left_as_it_is(beit_distill):
    import torch
    optimizer = torch.optim.SGD(beit_distill.architecture.parameters(), lr=0.1)
    cfg = dict(type='OptimWrapper', optimizer=optimizer)
    assert for_distillation(beit_distill, cfg) is cfg
