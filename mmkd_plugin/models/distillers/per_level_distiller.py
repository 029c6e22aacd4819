"""One distillation loss per level of a multi-level output (FPN levels, per-level head calls).

MMRazor's configs spell out one loss and one mapping per FPN level (five near-identical blocks with
magic ``data_idx`` values). ``PerLevelDistiller`` takes each once and expands it over the levels.
"""
import copy
from typing import Dict, Optional, Sequence, Tuple

from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS

LEVEL = 'level'  # the value of a ``data_idx``/``record_idx`` that stands for the level index


def level_name(name: str, level: int) -> str:
    return f'{name}_l{level}'


def _at_level(value, level: int, key: str, num_levels: int):
    if isinstance(value, (list, tuple)):
        if len(value) != num_levels:
            raise ValueError(f'{key} has {len(value)} entries for {num_levels} levels; give one value or '
                             'one per level.')
        return value[level]
    return value


def expand_levels(num_levels: int,
                  level_losses: Optional[Dict[str, dict]] = None,
                  level_connectors: Optional[Dict[str, dict]] = None,
                  level_mappings: Optional[Dict[str, dict]] = None,
                  per_level_keys: Sequence[str] = ('loss_weight', 'student_channels', 'teacher_channels',
                                                   'in_channels')) -> Tuple[dict, dict, dict]:
    """Expand per-level templates into ``ConfigurableDistiller``'s losses, connectors and mappings.

    Args:
        num_levels: L.
        level_losses: ``{name: loss config}``; becomes ``{name}_l{i}`` for i < L. A key of
            ``per_level_keys`` given as a list holds one value per level.
        level_connectors: ``{name: connector config}``, expanded the same way.
        level_mappings: ``{loss name: {forward arg: source}}``; in a source, ``data_idx='level'`` or
            ``record_idx='level'`` becomes i, ``{level}`` in a ``recorder`` name becomes i, and a
            ``connector`` naming a level connector becomes its level's connector.

    Returns:
        ``(distill_losses, connectors, loss_forward_mappings)``.

    Raises:
        ValueError: a mapping names a loss that ``level_losses`` lacks, or a list has the wrong length.
    """
    level_losses, level_connectors = level_losses or {}, level_connectors or {}
    level_mappings = level_mappings or {}
    unknown = sorted(set(level_mappings) - set(level_losses))
    if unknown:
        raise ValueError(f'level_mappings {unknown} name no loss of level_losses {sorted(level_losses)}.')
    losses, connectors, mappings = {}, {}, {}
    for i in range(num_levels):
        for kind, templates, out in (('level_losses', level_losses, losses),
                                     ('level_connectors', level_connectors, connectors)):
            for name, cfg in templates.items():
                out[level_name(name, i)] = {
                    k: _at_level(v, i, f'{kind}.{name}.{k}', num_levels) if k in per_level_keys else v
                    for k, v in cfg.items()}
        for name, mapping in level_mappings.items():
            expanded = {}
            for arg, source in mapping.items():
                source = copy.deepcopy(dict(source))
                for idx in ('data_idx', 'record_idx'):
                    if source.get(idx) == LEVEL:
                        source[idx] = i
                if '{level}' in str(source.get('recorder', '')):  # one recorder per level
                    source['recorder'] = source['recorder'].format(level=i)
                if source.get('connector') in level_connectors:
                    source['connector'] = level_name(source['connector'], i)
                expanded[arg] = source
            mappings[level_name(name, i)] = expanded
    return losses, connectors, mappings


def expanded_mappings(distiller: dict) -> dict:
    """A distiller config with its per-level templates expanded (any distiller type), for checks."""
    if 'num_levels' not in distiller:
        return distiller
    losses, connectors, mappings = expand_levels(distiller['num_levels'], distiller.get('level_losses'),
                                                 distiller.get('level_connectors'),
                                                 distiller.get('level_mappings'))
    return dict(distiller,
                distill_losses={**(distiller.get('distill_losses') or {}), **losses},
                connectors={**(distiller.get('connectors') or {}), **connectors},
                loss_forward_mappings={**(distiller.get('loss_forward_mappings') or {}), **mappings})


@MODELS.register_module()
class PerLevelDistiller(ConfigurableDistiller):
    """``ConfigurableDistiller`` with per-level templates (:func:`expand_levels`).

    Example (MMRazor's CWD on the five FPN levels)::

        distiller=dict(
            type='PerLevelDistiller', num_levels=5,
            student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
            teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
            level_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)),
            level_mappings=dict(loss_cwd=dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx='level'),
                preds_T=dict(from_student=False, recorder='fpn', data_idx='level'))))

    gives ``loss_cwd_l0`` ... ``loss_cwd_l4``. Shared (not per level) ``distill_losses``,
    ``connectors`` and ``loss_forward_mappings`` may be given as well.

    Args:
        num_levels: L, the number of levels.
        level_losses, level_connectors, level_mappings: the templates (:func:`expand_levels`).
        **kwargs: ``ConfigurableDistiller``'s arguments.
    """

    def __init__(self, num_levels: int, level_losses: Optional[dict] = None,
                 level_connectors: Optional[dict] = None, level_mappings: Optional[dict] = None,
                 **kwargs) -> None:
        losses, connectors, mappings = expand_levels(num_levels, level_losses, level_connectors,
                                                     level_mappings)
        for key, expanded in (('distill_losses', losses), ('connectors', connectors),
                              ('loss_forward_mappings', mappings)):
            shared = dict(kwargs.get(key) or {})
            clash = sorted(set(shared) & set(expanded))
            if clash:
                raise ValueError(f'{key} {clash} clash with the per-level names; rename them.')
            kwargs[key] = {**shared, **expanded}
        self.num_levels = num_levels
        super().__init__(**kwargs)
