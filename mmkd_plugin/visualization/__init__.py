from .acam_kd_masks import batch_image, load_image, render, spatial_masks

__all__ = ['batch_image', 'load_image', 'render', 'spatial_masks']
