"""What the cost benchmark times for one config: student step, the extra forward it runs, KD step.

Built offline (random weights, nothing downloaded) on one packed batch:

- distillation configs (ours, and MMRazor's own with their own algorithm): the student's
  ``train_step`` alone; the teacher forward *that config runs* without gradient (ours:
  ``run_teacher``, e.g. backbone + neck for ``teacher_forward='feat'``, the RoI head on the student's
  RoIs for ``RoITeacherDistill``; MMRazor's ``FpnTeacherDistill``: ``extract_feat``; its
  ``SingleTeacherDistill``: the teacher's loss forward); the distillation ``train_step``;
- teacher-free algorithms (USKD): the student step and the distillation step;
- PS-KD configs (a plain model with ``PSKDHook``): the student step with α = 0, the snapshot forward the
  hook runs each step, and the step with α = 0.5.
"""
import contextlib
import copy
import io
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope, MODELS

from mmkd_plugin.engine.config_hooks import hook_cfgs, hook_type
from mmkd_plugin.engine.hooks.mcmi_centroid_hook import collect_mcmi_statistics
from mmkd_plugin.engine.optimizers import for_distillation
from mmkd_devtools.testing import offline_model_cfg, packed_batch_for
from mmkd_plugin.models.losses.mcmi import MCMILoss
from mmkd_plugin.models.utils import resolve_model_cfg
from mmkd_plugin.tools_common import configure_amp, read_config

def is_plugin_algorithm(type_name: str) -> bool:
    """Whether ``type_name`` is one of mmkd_plugin's algorithms (TeacherDistill, its subclasses, ...)."""
    from mmrazor.registry import MODELS as RAZOR_MODELS
    cls = RAZOR_MODELS.get(type_name)
    return cls is not None and cls.__module__.startswith('mmkd_plugin.')


@dataclass
class Case:
    """Callables to time, and which of them the KD step is divided by.

    ``extra`` names what the extra forward computes (``'teacher feat'``, ``'PS-KD snapshot'``...): two
    configs with the same student, teacher and ``extra`` time one floor (``pair_key``).
    """
    steps: Dict[str, Callable[[], object]]
    numerator: str
    denominators: List[str]
    kind: str
    extra: str = ''


def _without_weights(obj):
    """A model config without what only sets initial weights (``init_cfg``, ``pretrained``) or a scope."""
    if isinstance(obj, dict):
        return {k: _without_weights(v) for k, v in sorted(obj.items())
                if k not in ('init_cfg', 'pretrained', '_scope_')}
    if isinstance(obj, (list, tuple)):
        return [_without_weights(v) for v in obj]
    return obj


def _model_key(spec) -> str:
    if spec is None:
        return ''
    if 'cfg_path' in spec:  # MMRazor's and our teachers: another config's model
        spec = read_config(spec['cfg_path']).model
    return repr(_without_weights(spec.to_dict() if hasattr(spec, 'to_dict') else spec))


def pair_key(config: str) -> Tuple[str, str]:
    """What the config trains and what teaches it, from the config alone (nothing built): equal keys
    mean the same student step and the same teacher, whatever the distiller."""
    model = read_config(config).model
    if 'architecture' not in model:  # PS-KD: a plain model with a hook
        return _model_key(model), ''
    return _model_key(model.architecture), _model_key(model.get('teacher'))


def _build(cfg: Config, work_dir: str, size: Tuple[int, int], device: str):
    # MMEngine prints each checkpoint it loads (the random teacher written here) with print().
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'mmrazor'), \
            contextlib.redirect_stdout(io.StringIO()):
        if 'teacher' in cfg.model and not is_plugin_algorithm(cfg.model.type):
            # An MMRazor config: its own algorithm, nothing loaded (random weights).
            from mmrazor.registry import MODELS as RAZOR_MODELS
            from mmkd_devtools.testing import clear_pretrained
            model_cfg = copy.deepcopy(cfg.model)
            model_cfg.teacher_ckpt = None
            for part in ('architecture', 'teacher'):
                model_cfg[part].pretrained = False
                # the model its cfg_path names, read here: mmseg pads to its data preprocessor's size, which
                # must be the benchmark's, not the config's crop (else a 128x256 run steps at 512x1024)
                model_cfg[part] = resolve_model_cfg(model_cfg[part], part)
                preprocessor = model_cfg[part].get('data_preprocessor')
                if preprocessor is not None and preprocessor.get('size') is not None:
                    preprocessor.size = size
            clear_pretrained(model_cfg)
            model = RAZOR_MODELS.build(model_cfg)
        else:
            model = MODELS.build(offline_model_cfg(cfg, work_dir, seg_size=size))
            model.init_weights()
    model.to(device)
    model.train()  # MMRazor's algorithms return None from train()
    return model


def _pskd_hook(cfg: Config):
    hooks = [h for h in hook_cfgs(cfg) if hook_type(h) == 'PSKDHook']
    return hooks[0] if hooks else None


def build_case(config: str, work_dir: str, size: Tuple[int, int], batch_size: int, device: str,
               amp: bool = False) -> Case:
    """The steps of ``config`` at ``size`` (H, W). ``amp``: the optimiser wrappers ``tools/train.py --amp``
    builds (``configure_amp``: fp16 ``AmpOptimWrapper`` on a GPU, bf16 autocast on CPU)."""
    cfg = read_config(config)
    if amp:
        configure_amp(cfg)
    model = _build(cfg, work_dir, size, device)
    batch = packed_batch_for(model, size, size, batch_size, boxes_per_image=(3, 2))
    if any(isinstance(m, MCMILoss) for m in model.modules()):  # MCMICentroidHook's pass, on this batch
        collect_mcmi_statistics(model, [batch])

    def train_step(module, optim):
        return lambda: module.train_step(copy.deepcopy(batch), optim)

    pskd = _pskd_hook(cfg)
    if pskd is not None:
        from mmkd_plugin.engine.hooks.pskd_hook import PSKDHook
        hook = PSKDHook(mode='snapshot')
        hook.attach(model)
        hook.snapshot.load_state_dict(model.state_dict())
        hook.snapshot_iter = 0
        optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))

        def step(alpha: float) -> Callable[[], object]:
            def run():
                hook.alpha = alpha
                return model.train_step(copy.deepcopy(batch), optim)
            return run

        def snapshot_forward():  # preprocessing, which hands the batch to the hook's provider: the snapshot forward
            hook.alpha = 0.5
            model.data_preprocessor(copy.deepcopy(batch), training=True)

        return Case({'student step': step(0.0), 'extra forward': snapshot_forward, 'KD step': step(0.5)},
                    'KD step', ['student step', 'extra forward'], 'PS-KD snapshot', 'PS-KD snapshot')

    if not hasattr(model, 'architecture'):
        raise SystemExit(f'{config} is neither a distillation config nor a PS-KD config.')
    student = model.architecture
    steps = {'student step': train_step(student, build_optim_wrapper(student, copy.deepcopy(cfg.optim_wrapper)))}
    denominators = ['student step']
    kind = extra = 'teacher-free'
    if hasattr(model, 'teacher'):
        teacher = model.teacher

        def teacher_forward():
            data = model.data_preprocessor(copy.deepcopy(batch), training=True)
            with torch.no_grad():
                if hasattr(model, 'run_teacher'):  # ours: what the algorithm runs each step
                    model.run_teacher(data['inputs'], data['data_samples'])
                elif type(model).__name__ == 'FpnTeacherDistill':
                    teacher.extract_feat(data['inputs'])
                else:  # MMRazor's SingleTeacherDistill runs the teacher's loss forward
                    teacher(data['inputs'], data['data_samples'], mode='loss')

        steps['extra forward'] = teacher_forward
        denominators.append('extra forward')
        kind = f"teacher {getattr(model, 'teacher_forward', type(model).__name__)}"
        extra = 'teacher feat' if kind == 'teacher FpnTeacherDistill' else kind  # extract_feat = 'feat'
    kd_optim = build_optim_wrapper(model, for_distillation(model, copy.deepcopy(cfg.optim_wrapper)))
    steps['KD step'] = train_step(model, kd_optim)
    if getattr(model, 'teacher_forward', None) == 'roi':
        steps['KD step']()  # the student's RoIs for the teacher's RoI head
    return Case(steps, 'KD step', denominators, kind, extra)
