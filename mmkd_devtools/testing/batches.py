"""Small packed batches for one training step, built with the real mmdet/mmseg packing transforms.

Used by the test suite and by ``tools/check_config.py`` to step a config without its dataset.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.dataset import pseudo_collate
from torch.nn import ModuleList


def packed_det_batch(image_size: Tuple[int, int] = (64, 96), batch_size: int = 2,
                     num_classes: int = 3, boxes_per_image: Sequence[int] = (2, 1),
                     seed: int = 0, with_masks: bool = False, with_sem_seg: bool = False,
                     with_proposals: bool = False) -> Dict[str, List]:
    """A detection batch (``inputs``, ``data_samples``) as ``PackDetInputs`` makes it.

    ``boxes_per_image`` may contain 0 to build an image without boxes; ``with_masks`` adds each box's
    filled rectangle as its instance mask (``BitmapMasks``), drawn after the boxes (same random stream);
    ``with_sem_seg`` a semantic map with each box's label inside it, 255 elsewhere (HTC's semantic head);
    ``with_proposals`` precomputed proposals (Fast R-CNN): each box shifted by up to 10 % of its size, and
    16 random boxes, scores in [0, 1), drawn last.
    """
    from mmdet.datasets.transforms import PackDetInputs
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks

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
        if with_masks:
            masks = np.zeros((n, h, w), dtype=np.uint8)
            for k, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
                masks[k, y0:y1 + 1, x0:x1 + 1] = 1
            results['gt_masks'] = BitmapMasks(masks, h, w)
        if with_sem_seg:
            sem = np.full((h, w), 255, dtype=np.uint8)
            for (x0, y0, x1, y1), label in zip(boxes.astype(int), results['gt_bboxes_labels']):
                sem[y0:y1 + 1, x0:x1 + 1] = label
            results['gt_seg_map'] = sem
        if with_proposals:
            jitter = rng.uniform(-0.1, 0.1, size=boxes.shape) * np.tile(wh, 2)
            xy = rng.uniform(0, [w * 0.7, h * 0.7], size=(16, 2))
            extra = np.concatenate([xy, xy + rng.uniform([w * 0.1, h * 0.1], [w * 0.3, h * 0.3], (16, 2))], 1)
            proposals = np.clip(np.concatenate([boxes + jitter, extra]), 0, [w, h, w, h]).astype(np.float32)
            results['proposals'] = proposals
            results['proposals_scores'] = rng.random(len(proposals)).astype(np.float32)
        samples.append(pack(results))
    return pseudo_collate(samples)


def packed_seg_batch(image_size: Tuple[int, int] = (64, 128), batch_size: int = 2,
                     num_classes: int = 19, ignore_fraction: float = 0.1,
                     seed: int = 0, with_edges: bool = False) -> Dict[str, List]:
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
        if with_edges:  # PIDNet's boundary targets: 1 where a pixel's label differs from its right or lower one
            edge = np.zeros((h, w), dtype=np.uint8)
            edge[:, :-1] |= seg[:, :-1] != seg[:, 1:]
            edge[:-1] |= seg[:-1] != seg[1:]
            results['gt_edge_map'] = edge
        samples.append(pack(results))
    return pseudo_collate(samples)



def packed_batch_for(model, det_size: Tuple[int, int], seg_size: Tuple[int, int],
                     batch_size: int = 2, seed: int = 0, **det_kwargs) -> Dict[str, List]:
    """A segmentation batch of ``seg_size`` for a segmentor (its class count), else a detection batch.

    ``model`` may be a distillation algorithm: its student (``architecture``) decides.
    """
    student = getattr(model, 'architecture', model)
    if hasattr(student, 'decode_head'):
        head = student.decode_head
        head = head[-1] if isinstance(head, ModuleList) else head  # a cascade's heads: the last one
        # mmseg 1.2.2's CrossEntropyLoss with class_weight indexes the weights by every label, 255 included
        # (IndexError; open-mmlab/mmsegmentation#3734, unfixed): CGNet's and PIDNet's stock configs stop on
        # any ignored pixel, with or without distillation, so their batch has none
        losses = head.loss_decode if isinstance(head.loss_decode, ModuleList) else [head.loss_decode]
        weighted = any(getattr(loss, 'class_weight', None) is not None for loss in losses)
        return packed_seg_batch(seg_size, batch_size, num_classes=head.num_classes, seed=seed,
                                ignore_fraction=0.0 if weighted else 0.1,
                                with_edges=type(head).__name__ == 'PIDHead')
    det_kwargs.setdefault('with_masks', needs_masks(student))
    classes = {type(m).__name__ for m in student.modules()}
    if any('MultiInstance' in name for name in classes):  # CrowdDet pairs each RoI with its two best
        det_kwargs.setdefault('boxes_per_image', (2, 3))  # boxes: an image needs two or more
    det_kwargs.setdefault('with_sem_seg', any(part in name for name in classes for part in ('Semantic', 'Panoptic')))
    # a two-stage detector without an RPN (Fast R-CNN) reads precomputed proposals from its data samples
    det_kwargs.setdefault('with_proposals', hasattr(student, 'roi_head') and not getattr(student, 'with_rpn', True))
    return packed_det_batch(det_size, batch_size, seed=seed, **det_kwargs)


# Class-name parts of the mmdet heads that train on instance masks.
_MASK_HEADS = ('Mask', 'SOLO', 'Protonet', 'RTMDetIns', 'CondInst', 'BoxInst')


def needs_masks(detector) -> bool:
    """Whether a detector's heads read ``gt_instances.masks`` (instance segmentation)."""
    return any(part in type(m).__name__ for m in detector.modules() for part in _MASK_HEADS)
