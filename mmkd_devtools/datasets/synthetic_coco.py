"""Generated detection data in the real COCO file layout.

The images hold up to ``max_objects`` shapes on a mildly noisy textured background. Each class has its
own shape and colour, so a small detector learns it from scratch in minutes on a CPU. The files follow
the real COCO layout, so mmdet's ``CocoDataset`` and ``CocoMetric`` read them unchanged::

    out_dir/images/{train,val}/{train,val}_000000.jpg
    out_dir/annotations/instances_{train,val}.json

The output depends only on the arguments: two runs with the same seed write the same bytes. Each image
has its own random stream, seeded by ``(seed, split, index)``. Growing ``num_train`` therefore keeps the
images already written and leaves val unchanged.
"""
import json
import os
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

SYNTHETIC_COCO_CLASSES: Tuple[str, ...] = ('square', 'disk', 'triangle')
# RGB colour of each class, in the order of SYNTHETIC_COCO_CLASSES.
_CLASS_COLOURS = np.array([(210, 40, 40), (40, 170, 60), (40, 70, 215)], dtype=np.float32)
_MIN_SIZE, _MAX_SIZE = 16, 56
_SPLIT_CODES = {'train': 0, 'val': 1}
_JPEG_QUALITY = 95
_PLACEMENT_TRIES = 50


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Return a greyish float image with a smooth texture and mild per-pixel noise."""
    coarse = rng.uniform(95, 165, size=(6, 6, 1)) + rng.uniform(-12, 12, size=(6, 6, 3))
    img = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return img + rng.normal(0, 6, size=(height, width, 3)).astype(np.float32)


def _shape_mask(label: int, size: int, x: int, y: int, height: int,
                width: int) -> Tuple[np.ndarray, List[float]]:
    """Rasterise one shape of ``size`` px whose bounding square starts at ``(x, y)``.

    Returns:
        The boolean mask and the polygon ``[x1, y1, x2, y2, ...]`` in pixel-edge coordinates.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    if label == 0:  # square
        mask[y:y + size, x:x + size] = 1
        poly = [x, y, x + size, y, x + size, y + size, x, y + size]
    elif label == 1:  # disk
        r = size / 2
        cx, cy = x + r, y + r
        yy, xx = np.mgrid[:height, :width]
        mask[(xx + 0.5 - cx)**2 + (yy + 0.5 - cy)**2 <= r * r] = 1
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        poly = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).ravel().tolist()
    else:  # triangle pointing up
        pts = np.array([[x, y + size - 1], [x + size - 1, y + size - 1], [x + (size - 1) // 2, y]])
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
        poly = [x, y + size, x + size, y + size, x + size / 2, y]
    return mask.astype(bool), [round(float(v), 2) for v in poly]


def _render_image(rng: np.random.Generator, height: int, width: int,
                  num_objects: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw ``num_objects`` non-touching shapes; return the BGR uint8 image and their annotations."""
    img = _background(rng, height, width)
    occupied = np.zeros((height, width), dtype=bool)
    objects = []
    max_size = min(_MAX_SIZE, height - 2, width - 2)
    for _ in range(num_objects):
        for _ in range(_PLACEMENT_TRIES):
            label = int(rng.integers(len(SYNTHETIC_COCO_CLASSES)))
            size = int(rng.integers(_MIN_SIZE, max_size + 1))
            x = int(rng.integers(0, width - size + 1))
            y = int(rng.integers(0, height - size + 1))
            mask, poly = _shape_mask(label, size, x, y, height, width)
            # Shapes never overlap, so every box and polygon stays tight to the visible pixels.
            if not (mask & occupied).any():
                break
        else:
            continue  # no free spot: draw fewer objects
        occupied |= cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        colour = _CLASS_COLOURS[label] + rng.uniform(-15, 15, size=3)
        img[mask] = colour + rng.normal(0, 6, size=(int(mask.sum()), 3))
        ys, xs = np.nonzero(mask)
        x0, y0 = int(xs.min()), int(ys.min())
        bbox = [float(x0), float(y0), float(xs.max() + 1 - x0), float(ys.max() + 1 - y0)]
        objects.append(dict(label=label, bbox=bbox, area=float(mask.sum()), polygon=poly))
    rgb = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), objects


def _write_split(out_dir: str, split: str, num_images: int, num_empty: int, image_size: Tuple[int, int],
                 max_objects: int, seed: int) -> str:
    """Write one split's images and COCO json; return the json path."""
    height, width = image_size
    img_dir = os.path.join(out_dir, 'images', split)
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    for idx in range(num_images + num_empty):
        rng = np.random.default_rng([seed, _SPLIT_CODES[split], idx])
        num_objects = 0 if idx >= num_images else int(rng.integers(1, max_objects + 1))
        img, objects = _render_image(rng, height, width, num_objects)
        file_name = f'{split}_{idx:06d}.jpg'
        img_path = os.path.join(img_dir, file_name)
        if not cv2.imwrite(img_path, img, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY]):
            raise OSError(f'cv2.imwrite could not write {img_path}')
        image_id = idx + 1
        images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
        for obj in objects:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image_id, category_id=obj['label'] + 1,
                     bbox=obj['bbox'], area=obj['area'], iscrowd=0, segmentation=[obj['polygon']]))
    categories = [
        dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(SYNTHETIC_COCO_CLASSES)]
    ann_file = os.path.join(out_dir, 'annotations', f'instances_{split}.json')
    os.makedirs(os.path.dirname(ann_file), exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return ann_file


def _check_args(num_train: int, num_val: int, image_size: Sequence[int], max_objects: int,
                num_empty_val: int) -> Tuple[int, int]:
    """Validate the arguments of :func:`generate_coco_detection`; return ``image_size`` as a tuple."""
    if num_train < 1 or num_val < 0 or num_empty_val < 0:
        raise ValueError(f'need num_train >= 1, num_val >= 0 and num_empty_val >= 0; got '
                         f'num_train={num_train}, num_val={num_val}, num_empty_val={num_empty_val}')
    if len(image_size) != 2 or min(image_size) < _MIN_SIZE + 8:
        raise ValueError(f'image_size must be (height, width) with both >= {_MIN_SIZE + 8} px so the '
                         f'{_MIN_SIZE}-{_MAX_SIZE} px objects fit; got {image_size}')
    if max_objects < 1:
        raise ValueError(f'max_objects must be >= 1 (num_empty_val adds images without objects); '
                         f'got {max_objects}')
    return int(image_size[0]), int(image_size[1])


def generate_coco_detection(out_dir: str,
                            num_train: int = 48,
                            num_val: int = 128,
                            image_size: Tuple[int, int] = (128, 128),
                            max_objects: int = 3,
                            seed: int = 0,
                            num_empty_val: int = 0) -> Dict[str, object]:
    """Write a small, learnable detection set in the real COCO layout.

    Each non-empty image holds 1 to ``max_objects`` shapes of 16-56 px that never touch. The classes
    are a red ``square``, a green ``disk`` and a blue ``triangle``. Boxes are tight ``[x, y, w, h]``
    around the drawn pixels, ``area`` is the pixel count, and ``segmentation`` is the shape's polygon.

    Args:
        out_dir: Root folder; ``images/`` and ``annotations/`` are created under it.
        num_train: Number of training images (each with at least one object).
        num_val: Number of validation images with objects.
        image_size: ``(height, width)`` of every image.
        max_objects: Most objects per image (fewer when no free spot is found).
        seed: Seed of the whole set; the same seed gives the same bytes.
        num_empty_val: Images with no objects appended to val, to exercise the no-box path.

    Returns:
        dict with ``data_root``, ``train_ann_file``, ``val_ann_file``, ``train_img_dir``, ``val_img_dir``
        (absolute paths), ``classes``, ``num_train`` and ``num_val`` (val includes the empty images).
    """
    image_size = _check_args(num_train, num_val, image_size, max_objects, num_empty_val)
    out_dir = os.path.abspath(out_dir)
    train_ann = _write_split(out_dir, 'train', num_train, 0, image_size, max_objects, seed)
    val_ann = _write_split(out_dir, 'val', num_val, num_empty_val, image_size, max_objects, seed)
    return dict(data_root=out_dir, train_ann_file=train_ann, val_ann_file=val_ann,
                train_img_dir=os.path.join(out_dir, 'images', 'train'),
                val_img_dir=os.path.join(out_dir, 'images', 'val'),
                classes=SYNTHETIC_COCO_CLASSES, num_train=num_train, num_val=num_val + num_empty_val)
