"""Trainable building blocks used by the distillation losses (not registered; the losses build them)."""
from .acam_kd_fusion import ASCMasks, STCAFusion, fused_cross_attention

__all__ = ['ASCMasks', 'STCAFusion', 'fused_cross_attention']
