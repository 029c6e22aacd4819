from .per_level_distiller import PerLevelDistiller, expand_levels

__all__ = ['PerLevelDistiller', 'expand_levels']
