from .dense_head_logit_distiller import HEAD_LOGITS, DenseHeadLogitDistiller
from .per_level_distiller import PerLevelDistiller, expand_levels

__all__ = ['DenseHeadLogitDistiller', 'HEAD_LOGITS', 'PerLevelDistiller', 'expand_levels']
