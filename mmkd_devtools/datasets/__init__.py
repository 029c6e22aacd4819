"""Generated datasets in the real COCO and Cityscapes file layouts."""
from .synthetic_cityscapes import generate_cityscapes
from .synthetic_coco import SYNTHETIC_COCO_CLASSES, generate_coco_detection

__all__ = ['generate_coco_detection', 'generate_cityscapes', 'SYNTHETIC_COCO_CLASSES']
