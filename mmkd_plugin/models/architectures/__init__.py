"""Trainable building blocks: ACAM-KD's mask generator (built by its loss) and HARD's augmentors (registered)."""
from .acam_kd_fusion import ASCMasks, STCAFusion, fused_cross_attention
from .hard_affine import AffineAugmentor

__all__ = ['AffineAugmentor', 'ASCMasks', 'STCAFusion', 'fused_cross_attention']
