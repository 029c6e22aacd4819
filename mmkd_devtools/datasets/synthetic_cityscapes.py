"""Generated street scenes in the real Cityscapes file layout.

Each scene has a sky band at the top, buildings and vegetation on the horizon, and a road between
sidewalks at the bottom. Walls, fences, terrain, poles with signs or lights, cars, trucks, buses and
persons are added at random. Labels are the 19 standard Cityscapes trainIds. The ego-vehicle rows at
the bottom are 255 (ignore), as in the real data. Every class has its own colour plus noise, so a
small segmentor learns it in minutes on a CPU. mmseg's ``CityscapesDataset`` reads the files unchanged::

    out_dir/leftImg8bit/{train,val}/synthcity/synthcity_000000_0000NN_leftImg8bit.png
    out_dir/gtFine/{train,val}/synthcity/synthcity_000000_0000NN_gtFine_labelTrainIds.png
    out_dir/gtFine/{train,val}/synthcity/synthcity_000000_0000NN_gtFine_labelIds.png

Frame numbers run on from train into val, so every stem is unique. Each scene has its own random
stream, seeded by ``(seed, split, index)``, and the same seed gives the same bytes.
"""
import os
from typing import Dict, Tuple

import cv2
import numpy as np

CITY = 'synthcity'
IGNORE_INDEX = 255
# trainId -> labelId, from cityscapesscripts.helpers.labels; ignore (255) maps to 0 (unlabeled).
TRAINID_TO_LABELID: Dict[int, int] = {
    0: 7, 1: 8, 2: 11, 3: 12, 4: 13, 5: 17, 6: 19, 7: 20, 8: 21, 9: 22,
    10: 23, 11: 24, 12: 25, 13: 26, 14: 27, 15: 28, 16: 31, 17: 32, 18: 33, IGNORE_INDEX: 0}
(ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR,
 TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE) = range(19)
# RGB colour of each trainId, chosen far apart (not the Cityscapes palette, so a prediction overlay
# never looks like the input); the last row is the ignored ego vehicle.
_COLOURS = np.array([
    (60, 60, 70), (175, 160, 150), (150, 85, 60), (205, 190, 120), (115, 75, 30), (215, 215, 225),
    (245, 200, 0), (20, 90, 230), (40, 140, 40), (140, 195, 90), (135, 195, 240), (200, 30, 60),
    (250, 120, 30), (20, 30, 130), (95, 40, 145), (240, 240, 90), (0, 150, 150), (165, 0, 205),
    (120, 250, 250), (25, 25, 25)], dtype=np.float32)
_LABELID_LUT = np.zeros(256, dtype=np.uint8)
for _train_id, _label_id in TRAINID_TO_LABELID.items():
    _LABELID_LUT[_train_id] = _label_id
_SPLIT_CODES = {'train': 0, 'val': 1}


def _ellipse(label: np.ndarray, cx: float, cy: float, rx: float, ry: float, value: int) -> None:
    """Fill an axis-aligned ellipse in ``label`` with ``value``."""
    cv2.ellipse(label, (int(cx), int(cy)), (max(1, int(rx)), max(1, int(ry))), 0, 0, 360, value, -1)


def _skyline(rng: np.random.Generator, label: np.ndarray, horizon: int) -> None:
    """Buildings and vegetation standing on the horizon, with sky gaps; sometimes a wall in front."""
    width = label.shape[1]
    x = 0
    while x < width:
        block = int(rng.integers(width // 12, width // 4 + 1))
        kind = rng.choice([BUILDING, BUILDING, VEGETATION, SKY])
        top = int(rng.uniform(0.05, 0.8) * horizon)
        if kind == BUILDING:
            label[top:horizon, x:x + block] = BUILDING
        elif kind == VEGETATION:
            label[(top + horizon) // 2:horizon, x:x + block] = VEGETATION
            _ellipse(label, x + block / 2, (top + horizon) / 2, block / 2, (horizon - top) / 2, VEGETATION)
        x += block
    if rng.random() < 0.5:
        x0 = int(rng.integers(0, width // 2))
        x1 = x0 + int(rng.integers(width // 6, width // 2))
        label[horizon - int(rng.integers(4, 9)):horizon, x0:x1] = WALL


def _ground(rng: np.random.Generator, label: np.ndarray, horizon: int) -> np.ndarray:
    """Road (a trapezoid in perspective) between sidewalks, terrain verges, a fence; return the road mask."""
    height, width = label.shape
    label[horizon:] = SIDEWALK
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    depth = np.clip((rows - horizon) / max(1, height - horizon), 0, 1)
    centre = width * rng.uniform(0.4, 0.6)
    half = width * (0.05 + rng.uniform(0.3, 0.45) * depth)
    road = (rows >= horizon + 2) & (np.abs(cols - centre) < half)
    label[road] = ROAD
    if rng.random() < 0.6:
        verge = (rows >= horizon) & (np.abs(cols - centre) > half + width * rng.uniform(0.12, 0.25))
        label[verge] = TERRAIN
    if rng.random() < 0.4:
        fence_rows = slice(horizon - int(rng.integers(3, 6)), horizon)
        if rng.random() < 0.5:
            side = slice(0, int(centre * 0.6))
        else:
            side = slice(int(width - (width - centre) * 0.6), width)
        label[fence_rows, side] = FENCE
    return road


def _things(rng: np.random.Generator, label: np.ndarray, horizon: int, road: np.ndarray) -> None:
    """Poles with signs or lights, vehicles on the road and persons on the sidewalk."""
    height, width = label.shape
    for _ in range(int(rng.integers(1, 4))):
        x = int(rng.integers(2, width - 3))
        foot = horizon + int(rng.integers(2, max(3, (height - horizon) // 3)))
        if road[min(foot, height - 1), x]:
            continue  # poles stand on the sidewalk
        top = int(rng.uniform(0.1, 0.4) * horizon)
        label[top:foot, x:x + 2] = POLE
        head = SIGN if rng.random() < 0.5 else LIGHT
        label[max(0, top - 5):top + 3, max(0, x - 2):x + 4] = head
    for _ in range(int(rng.integers(1, 4))):
        ys, xs = np.nonzero(road[:height - height // 8])
        if len(ys) == 0:
            break
        i = int(rng.integers(len(ys)))
        scale = 0.4 + 0.6 * (ys[i] - horizon) / max(1, height - horizon)
        kind = rng.choice([CAR, CAR, CAR, TRUCK, BUS])
        w = width * scale * (0.12 if kind == CAR else 0.18)
        h = w * (0.45 if kind == CAR else 0.7)
        label[max(0, int(ys[i] - h)):int(ys[i]), max(0, int(xs[i] - w / 2)):int(xs[i] + w / 2)] = kind
        if kind == CAR:  # rounded cabin on top
            _ellipse(label, xs[i], ys[i] - h, w / 3, h / 2, CAR)
    for _ in range(int(rng.integers(0, 4))):
        ys, xs = np.nonzero((label == SIDEWALK) & (np.arange(height)[:, None] > horizon + 4))
        if len(ys) == 0:
            break
        i = int(rng.integers(len(ys)))
        tall = height * (0.08 + 0.12 * (ys[i] - horizon) / max(1, height - horizon))
        _ellipse(label, xs[i], ys[i] - tall / 2, tall / 5, tall / 2, PERSON)


def _render(rng: np.random.Generator, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Return one scene as (BGR uint8 image, uint8 trainId map)."""
    label = np.full((height, width), SKY, dtype=np.uint8)
    horizon = int(height * rng.uniform(0.38, 0.5))
    _skyline(rng, label, horizon)
    road = _ground(rng, label, horizon)
    _things(rng, label, horizon, road)
    label[height - max(2, height // 24):] = IGNORE_INDEX  # ego vehicle, ignored as in Cityscapes
    colour_idx = np.where(label == IGNORE_INDEX, len(_COLOURS) - 1, label)
    colours = _COLOURS + rng.uniform(-10, 10, size=_COLOURS.shape).astype(np.float32)
    shading = cv2.resize(rng.uniform(-10, 10, size=(4, 8)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_CUBIC)
    img = colours[colour_idx] + shading[..., None] + rng.normal(0, 7, size=(height, width, 3))
    rgb = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), label


def _write_png(path: str, array: np.ndarray) -> None:
    """Write ``array`` as PNG, raising if OpenCV cannot."""
    if not cv2.imwrite(path, array):
        raise OSError(f'cv2.imwrite could not write {path}')


def generate_cityscapes(out_dir: str,
                        num_train: int = 24,
                        num_val: int = 64,
                        image_size: Tuple[int, int] = (128, 256),
                        seed: int = 0) -> Dict[str, object]:
    """Write a small, learnable semantic segmentation set in the real Cityscapes layout.

    Args:
        out_dir: Root folder; ``leftImg8bit/`` and ``gtFine/`` are created under it.
        num_train: Number of training scenes.
        num_val: Number of validation scenes.
        image_size: ``(height, width)`` of every scene.
        seed: Seed of the whole set; the same seed gives the same bytes.

    Returns:
        dict with ``data_root``, ``img_dirs`` and ``ann_dirs`` (split -> absolute folder), ``classes``
        (the 19 Cityscapes names), ``num_train``, ``num_val`` and ``ignore_index``.
    """
    if num_train < 1 or num_val < 0:
        raise ValueError(f'need num_train >= 1 and num_val >= 0; '
                         f'got num_train={num_train}, num_val={num_val}')
    if len(image_size) != 2 or image_size[0] < 48 or image_size[1] < 48:
        raise ValueError(f'image_size must be (height, width) with both >= 48 px; got {image_size}')
    height, width = int(image_size[0]), int(image_size[1])
    out_dir = os.path.abspath(out_dir)
    img_dirs, ann_dirs = {}, {}
    frame = 0
    for split, count in (('train', num_train), ('val', num_val)):
        img_dirs[split] = os.path.join(out_dir, 'leftImg8bit', split, CITY)
        ann_dirs[split] = os.path.join(out_dir, 'gtFine', split, CITY)
        os.makedirs(img_dirs[split], exist_ok=True)
        os.makedirs(ann_dirs[split], exist_ok=True)
        for idx in range(count):
            img, train_ids = _render(np.random.default_rng([seed, _SPLIT_CODES[split], idx]), height, width)
            stem = f'{CITY}_000000_{frame:06d}'
            _write_png(os.path.join(img_dirs[split], f'{stem}_leftImg8bit.png'), img)
            _write_png(os.path.join(ann_dirs[split], f'{stem}_gtFine_labelTrainIds.png'), train_ids)
            label_ids = _LABELID_LUT[train_ids]
            _write_png(os.path.join(ann_dirs[split], f'{stem}_gtFine_labelIds.png'), label_ids)
            frame += 1
    classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
               'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
               'motorcycle', 'bicycle')
    return dict(data_root=out_dir, img_dirs=img_dirs, ann_dirs=ann_dirs, classes=classes,
                num_train=num_train, num_val=num_val, ignore_index=IGNORE_INDEX)
