"""What a model offers distillation: its multi-scale features and dense logits, measured by one forward.

The strides and widths of a neck's or a backbone's outputs are not in a config in any one form (FPN's
``out_channels`` and ``start_level``, YOLOX's ``in_channels`` lists, ChannelMapper's ``kernel_size``...), so
:func:`probe_model` builds the model (random weights, no ``init_weights``: nothing is downloaded), runs one
forward on a ``(1, 3, S, S)`` zero image and records, with forward hooks:

- ``neck``: every 4-D output of ``model.neck`` (a tuple or list of maps, or one map);
- ``backbone``: every 4-D output of ``model.backbone``;
- ``logits``: an mmseg ``EncoderDecoder``'s decode head logits (``decode_head.conv_seg``; for a
  ``CascadeEncoderDecoder`` the last head's).

A level's stride is ``S / H_out`` (units: input pixels per feature pixel), its channels ``C_out``.
"""
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
from mmengine.registry import DefaultScope
from torch import nn

from ..models.utils.model_config import build_model

# The probe image's side (pixels): a multiple of every stride in mmdet/mmseg (RetinaNet's P7: 128).
PROBE_SIZE = 256


class PairingError(ValueError):
    """The two models cannot be paired automatically; the message says what to write instead."""


def first_line(e: BaseException) -> str:
    """``e`` named in one line, ``Type: first line of its message``, for messages that quote a model's error."""
    lines = str(e).strip().splitlines()
    return f'{type(e).__name__}: {lines[0]}' if lines else type(e).__name__


class Level(NamedTuple):
    """One map of a source: its position in the source's output, stride (input px per feature px), width."""
    index: int
    stride: int
    channels: int


class Source(NamedTuple):
    """A module whose output distillation can record (``module``: its dotted name in the model).

    ``levels``: one :class:`Level` per 4-D map; ``tuple_output``: the module returns a sequence (so a
    recorder needs ``data_idx``), not one map.
    """
    kind: str
    module: str
    levels: Tuple[Level, ...]
    tuple_output: bool


class Probe(NamedTuple):
    """A model's sources by kind (``'neck'``, ``'backbone'``, ``'logits'``) and what it is."""
    model_type: str
    task: str  # 'detection' or 'segmentation'
    sources: Dict[str, Source]
    head_type: Optional[str]  # the dense head's or decode head's class name
    roi_logits: Optional[str]  # a two-stage detector's RoI classifier (``roi_head.bbox_head.fc_cls``)
    num_classes: Optional[int]
    failure: Optional[str] = None  # the probe forward's error, if it stopped (sources before it are kept)
    # (parameter name, shape) of the neck and the dense head: equal on both sides -> weights can be inherited
    shapes: Dict[str, Tuple[Tuple[str, Tuple[int, ...]], ...]] = {}
    # kinds the model has (a neck, a decode head) that gave no output because the forward stopped before them
    unmeasured: Tuple[str, ...] = ()


def _maps(output) -> Tuple[List[Tuple[int, torch.Tensor]], bool]:
    """(position in the output, map) of every 4-D map, and whether the output is a sequence."""
    if isinstance(output, torch.Tensor):
        return ([(0, output)] if output.dim() == 4 else []), False
    if isinstance(output, (tuple, list)):
        return [(i, t) for i, t in enumerate(output) if isinstance(t, torch.Tensor) and t.dim() == 4], True
    return [], False


def _logits_module(model: nn.Module) -> Optional[str]:
    head = getattr(model, 'decode_head', None)
    if isinstance(head, nn.ModuleList):
        index = len(head) - 1
        return f'decode_head.{index}.conv_seg' if hasattr(head[index], 'conv_seg') else None
    return 'decode_head.conv_seg' if head is not None and hasattr(head, 'conv_seg') else None


def _num_classes(model: nn.Module) -> Optional[int]:
    for path in ('bbox_head', 'decode_head', 'roi_head.bbox_head'):
        module = model
        for part in path.split('.'):
            module = getattr(module, part, None)
        if isinstance(module, nn.ModuleList):
            module = module[-1]
        if module is not None and isinstance(getattr(module, 'num_classes', None), int):
            return module.num_classes
    return None


def _head_type(model: nn.Module) -> Optional[str]:
    for name in ('bbox_head', 'decode_head'):
        head = getattr(model, name, None)
        if isinstance(head, nn.ModuleList):
            head = head[-1]
        if head is not None:
            return type(head).__name__
    return None


def _roi_logits(model: nn.Module) -> Optional[str]:
    bbox_head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if isinstance(bbox_head, nn.Module) and not isinstance(bbox_head, nn.ModuleList) \
            and isinstance(getattr(bbox_head, 'fc_cls', None), nn.Linear):
        return 'roi_head.bbox_head.fc_cls'
    return None


def probe_model(model_cfg, role: str = 'student', size: int = PROBE_SIZE, device: str = 'cpu') -> Probe:
    """Build ``model_cfg`` and measure its sources (module docstring).

    Args:
        model_cfg: a model dict (with ``_scope_`` or a type a known package registers) or
            ``dict(cfg_path=...)``, as ``TeacherDistill`` takes it.
        role: 'student' or 'teacher', for messages.
        size: the probe image's side in pixels.
        device: where the probe forward runs (``'cuda'`` for a model with ops that have no CPU kernel, such
            as mmcv's CARAFE or deformable RoI pooling).

    Raises:
        PairingError: the model does not build (the message names the error and the config), or it has
            neither ``extract_feat`` (mmdet/mmseg models) nor a backbone.
    """
    try:
        model = build_model(model_cfg, role)
    except Exception as e:  # noqa: B902 (any model's build error): name it and the config, not a traceback
        raise PairingError(
            f'The {role} does not build here: {first_line(e)}\nFix what it names (an optional package such as '
            'mmpretrain, transformers or fairscale; a file or weights its config reads), then try again.') from e
    model.to(device).eval()
    is_segmentor = hasattr(model, 'decode_head')
    if not hasattr(model, 'extract_feat') or not hasattr(model, 'backbone'):
        raise PairingError(f'The {role} ({type(model).__name__}) is not an mmdet detector or mmseg segmentor with a '
                           '`backbone` and `extract_feat`; tools/distill.py cannot read its features.')
    names = {'backbone': 'backbone'}
    if getattr(model, 'neck', None) is not None:
        names['neck'] = 'neck'
    logits = _logits_module(model) if is_segmentor else None
    if logits:
        names['logits'] = logits
    modules = dict(model.named_modules())
    outputs = {}
    handles = [modules[module].register_forward_hook(
        lambda _m, _i, out, kind=kind: outputs.setdefault(kind, out)) for kind, module in names.items()]
    image = torch.zeros(1, 3, size, size, device=device)
    scope = getattr(model_cfg, 'get', lambda *_: None)('_scope_')
    failure = None
    try:
        with torch.no_grad(), DefaultScope.overwrite_default_scope(scope):
            if is_segmentor:
                model._forward(image)
            else:
                model.extract_feat(image)
    except Exception as e:  # noqa: B902 (any model's error): keep what ran before it, say what stopped
        failure = f'{type(e).__name__}: {e}'.strip()
    finally:
        for handle in handles:
            handle.remove()
    sources = {}
    for kind, module in names.items():
        maps, is_tuple = _maps(outputs.get(kind))
        if not maps:
            continue
        levels = tuple(Level(i, max(1, round(size / t.shape[-2])), int(t.shape[1])) for i, t in maps)
        sources[kind] = Source(kind, module, levels, is_tuple)
    shapes = {name: tuple((key, tuple(value.shape)) for key, value in getattr(model, name).state_dict().items())
              for name in ('neck', 'bbox_head', 'rpn_head', 'roi_head')
              if isinstance(getattr(model, name, None), nn.Module)}
    unmeasured = tuple(kind for kind in names if kind not in sources) if failure else ()
    return Probe(type(model).__name__, 'segmentation' if is_segmentor else 'detection', sources,
                 _head_type(model), _roi_logits(model), _num_classes(model), failure, shapes, unmeasured)
