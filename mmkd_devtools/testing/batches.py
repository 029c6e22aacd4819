"""Small packed batches for one training step, built with the real mmdet/mmseg packing transforms.

Used by the test suite and by ``tools/check_config.py`` to step a config without its dataset.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.dataset import pseudo_collate


def packed_det_batch(image_size: Tuple[int, int] = (64, 96), batch_size: int = 2,
                     num_classes: int = 3, boxes_per_image: Sequence[int] = (2, 1),
                     seed: int = 0) -> Dict[str, List]:
    """A detection batch (``inputs``, ``data_samples``) as ``PackDetInputs`` makes it.

    ``boxes_per_image`` may contain 0 to build an image without boxes.
    """
    from mmdet.datasets.transforms import PackDetInputs
    from mmdet.structures.bbox import HorizontalBoxes

    rng = np.random.default_rng(seed)
    h, w = image_size
    pack = PackDetInputs(meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                    'flip', 'flip_direction', 'sample_idx'))
    samples = []
    for i in range(batch_size):
        n = boxes_per_image[i % len(boxes_per_image)]
        xy = rng.uniform(0, [w * 0.6, h * 0.6], size=(n, 2))
        wh = rng.uniform([w * 0.15, h * 0.15], [w * 0.4, h * 0.4], size=(n, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        results = dict(
            img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8), img_id=i, img_path=f'{i}.jpg',
            ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0), flip=False,
            flip_direction=None, sample_idx=i,
            gt_bboxes=HorizontalBoxes(boxes.reshape(-1, 4)),
            gt_bboxes_labels=rng.integers(0, num_classes, n).astype(np.int64),
            gt_ignore_flags=np.zeros(n, dtype=bool))
        samples.append(pack(results))
    return pseudo_collate(samples)


def packed_seg_batch(image_size: Tuple[int, int] = (64, 128), batch_size: int = 2,
                     num_classes: int = 19, ignore_fraction: float = 0.1,
                     seed: int = 0) -> Dict[str, List]:
    """A segmentation batch as ``PackSegInputs`` makes it; labels in [0, num_classes) plus 255."""
    from mmseg.datasets.transforms import PackSegInputs

    rng = np.random.default_rng(seed)
    h, w = image_size
    pack = PackSegInputs(meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                                    'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                                    'reduce_zero_label', 'sample_idx'))
    samples = []
    for i in range(batch_size):
        seg = rng.integers(0, num_classes, (h, w)).astype(np.uint8)
        seg[rng.random((h, w)) < ignore_fraction] = 255
        results = dict(
            img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8), gt_seg_map=seg,
            img_path=f'{i}.png', seg_map_path=f'{i}.png', ori_shape=(h, w), img_shape=(h, w),
            pad_shape=(h, w), scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
            reduce_zero_label=False, sample_idx=i, seg_fields=['gt_seg_map'])
        samples.append(pack(results))
    return pseudo_collate(samples)



def packed_batch_for(model, det_size: Tuple[int, int], seg_size: Tuple[int, int],
                     batch_size: int = 2, seed: int = 0, **det_kwargs) -> Dict[str, List]:
    """A segmentation batch of ``seg_size`` for a segmentor (its class count), else a detection batch.

    ``model`` may be a distillation algorithm: its student (``architecture``) decides.
    """
    student = getattr(model, 'architecture', model)
    if hasattr(student, 'decode_head'):
        return packed_seg_batch(seg_size, batch_size, num_classes=student.decode_head.num_classes, seed=seed)
    return packed_det_batch(det_size, batch_size, seed=seed, **det_kwargs)
