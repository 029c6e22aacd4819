"""The generated sets, read by the real mmdet/mmseg datasets and scored by the real metrics."""
import hashlib
import importlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

from mmkd_devtools.datasets import SYNTHETIC_COCO_CLASSES, generate_cityscapes, generate_coco_detection
from mmkd_devtools.datasets.synthetic_cityscapes import TRAINID_TO_LABELID

REPO = Path(__file__).resolve().parents[2]
COCO_CFG = REPO / 'configs/_base_/datasets/synthetic_coco.py'
CITYSCAPES_CFG = REPO / 'configs/_base_/datasets/synthetic_cityscapes.py'


def _digest(root: str) -> str:
    """Hash every file's relative path and bytes under ``root`` (but tools/generate_data.py's stamp)."""
    sha = hashlib.sha256()
    for path in sorted(Path(root).rglob('*')):
        if path.is_file() and path.name != 'generated.json':
            sha.update(str(path.relative_to(root)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def _config(path: Path, data_root: str) -> Config:
    """Load a dataset config with every ``data_root`` pointed at ``data_root``."""
    cfg = Config.fromfile(str(path))
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = data_root
    if 'ann_file' in cfg.val_evaluator:
        cfg.val_evaluator.ann_file = os.path.join(data_root, 'annotations/instances_val.json')
    return cfg


def _build(scope: str, registry_name: str, cfg: dict):
    """Build ``cfg`` from ``scope``'s registry under that default scope (mmdet and mmseg side by side)."""
    registry = getattr(importlib.import_module(f'{scope}.registry'), registry_name)
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


@pytest.mark.parametrize('generate,sizes', [
    (generate_coco_detection, dict(num_train=3, num_val=2, num_empty_val=1)),
    (generate_cityscapes, dict(num_train=2, num_val=1))])
def test_generator_is_deterministic(tmp_path, generate, sizes):
    first = _digest(generate(str(tmp_path / 'a'), seed=0, **sizes)['data_root'])
    assert _digest(generate(str(tmp_path / 'b'), seed=0, **sizes)['data_root']) == first
    assert _digest(generate(str(tmp_path / 'c'), seed=1, **sizes)['data_root']) != first


def test_generator_rejects_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match='image_size'):
        generate_coco_detection(str(tmp_path), image_size=(16, 16))
    with pytest.raises(ValueError, match='num_train'):
        generate_cityscapes(str(tmp_path), num_train=0)


def test_cli_writes_what_the_generators_write(tmp_path):
    spec = importlib.util.spec_from_file_location('generate_data', REPO / 'tools/generate_data.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main(['all', '--out-dir', str(tmp_path / 'cli'), '--num-train', '2', '--num-val', '1',
              '--seed', '3'])
    coco = generate_coco_detection(str(tmp_path / 'ref' / 'coco'), num_train=2, num_val=1, seed=3)
    city = generate_cityscapes(str(tmp_path / 'ref' / 'cityscapes'), num_train=2, num_val=1, seed=3)
    assert _digest(str(tmp_path / 'cli' / 'coco')) == _digest(coco['data_root'])
    assert _digest(str(tmp_path / 'cli' / 'cityscapes')) == _digest(city['data_root'])


def test_cli_skips_an_up_to_date_set_and_rewrites_another(tmp_path):
    spec = importlib.util.spec_from_file_location('generate_data', REPO / 'tools/generate_data.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = tmp_path / 'cli'
    cli.main(['cityscapes', '--out-dir', str(out), '--num-train', '3', '--num-val', '2'])
    images = out / 'cityscapes' / 'leftImg8bit'
    first = {p: p.stat().st_mtime_ns for p in images.rglob('*.png')}
    cli.main(['cityscapes', '--out-dir', str(out), '--num-train', '3', '--num-val', '2'])
    assert {p: p.stat().st_mtime_ns for p in images.rglob('*.png')} == first  # up to date: untouched
    # Fewer training scenes shift the val frame numbers: the old files must not stay behind.
    cli.main(['cityscapes', '--out-dir', str(out), '--num-train', '2', '--num-val', '2'])
    ref = generate_cityscapes(str(tmp_path / 'ref'), num_train=2, num_val=2)
    assert _digest(str(out / 'cityscapes')) == _digest(ref['data_root'])


def test_coco_boxes_and_labels_match_the_pixels(synthetic_coco: Dict):
    """Each box is tight around pixels of its class's colour (red, green, blue), read back from the JPEG."""
    with open(synthetic_coco['train_ann_file']) as f:
        coco = json.load(f)
    files = {img['id']: img['file_name'] for img in coco['images']}
    for ann in coco['annotations']:
        img_path = os.path.join(synthetic_coco['train_img_dir'], files[ann['image_id']])
        img = np.asarray(Image.open(img_path), dtype=int)
        channel = ann['category_id'] - 1  # the class colours are dominated by R, G and B in class order
        # The textured background never has one channel 50 above the others (at most ~25).
        is_object = img[..., channel] - np.delete(img, channel, axis=2).max(2) > 50
        x, y, w, h = map(int, ann['bbox'])
        inside = is_object[y:y + h, x:x + w]
        assert inside.mean() > 0.4, ann  # square 1.0, disk ~0.79, triangle ~0.5 of its box
        assert inside[:2].any() and inside[-2:].any() and inside[:, :2].any() and inside[:, -2:].any(), ann
        ring = np.pad(is_object, 4)[y + 1:y + h + 7, x + 1:x + w + 7].copy()  # the box grown by 3 px
        ring[2:-2, 2:-2] = False  # keep the band 2-3 px outside the box
        assert ring.mean() < 0.05, ann


def test_coco_dataset_reads_generated_set(synthetic_coco: Dict):
    cfg = _config(COCO_CFG, synthetic_coco['data_root'])
    with open(synthetic_coco['train_ann_file']) as f:
        coco = json.load(f)
    boxes_per_image = {img['id']: 0 for img in coco['images']}
    for ann in coco['annotations']:
        boxes_per_image[ann['image_id']] += 1

    train = _build('mmdet', 'DATASETS', cfg.train_dataloader.dataset)
    assert train.metainfo['classes'] == SYNTHETIC_COCO_CLASSES
    assert len(train) == synthetic_coco['num_train']
    for i in range(len(train)):
        sample = train[i]
        gt = sample['data_samples'].gt_instances
        assert len(gt) == boxes_per_image[sample['data_samples'].img_id] > 0
        assert gt.labels.min() >= 0 and gt.labels.max() < len(SYNTHETIC_COCO_CLASSES)
        height, width = sample['inputs'].shape[1:]
        boxes = gt.bboxes.tensor  # LoadAnnotations packs HorizontalBoxes, which only take 1-d indexing
        assert (boxes[:, 2:] <= torch.tensor([width, height])).all() and (boxes >= 0).all()

    val = _build('mmdet', 'DATASETS', cfg.val_dataloader.dataset)
    assert len(val) == synthetic_coco['num_val']
    assert len(val[len(val) - 1]['data_samples'].gt_instances) == 0  # the appended empty image


@pytest.mark.parametrize('scope,config,fixture', [('mmdet', COCO_CFG, 'synthetic_coco'),
                                                   ('mmseg', CITYSCAPES_CFG, 'synthetic_cityscapes')])
def test_config_dataloaders_yield_batches(request, scope, config, fixture):
    cfg = _config(config, request.getfixturevalue(fixture)['data_root'])
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        with DefaultScope.overwrite_default_scope(scope):
            batch = next(iter(Runner.build_dataloader(loader, seed=0)))
        assert len(batch['inputs']) == len(batch['data_samples']) == loader.batch_size


def _score_coco(cfg: Config, val, shift: float) -> float:
    """bbox mAP of the ground truth fed back as predictions, moved right by ``shift`` box widths."""
    metric = _build('mmdet', 'METRICS', cfg.val_evaluator)
    metric.dataset_meta = val.metainfo
    for i in range(len(val)):
        info = val.get_data_info(i)
        boxes = torch.tensor([ins['bbox'] for ins in info['instances']], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([ins['bbox_label'] for ins in info['instances']], dtype=torch.long)
        boxes[:, 0::2] += shift * (boxes[:, 2:3] - boxes[:, 0:1])
        pred = dict(bboxes=boxes, scores=torch.ones(len(labels)), labels=labels)
        metric.process({}, [dict(img_id=info['img_id'], ori_shape=(info['height'], info['width']),
                                 pred_instances=pred)])
    return metric.evaluate(len(val))['coco/bbox_mAP']


def test_coco_metric_scores_ground_truth_as_perfect(synthetic_coco: Dict):
    cfg = _config(COCO_CFG, synthetic_coco['data_root'])
    val = _build('mmdet', 'DATASETS', cfg.val_dataloader.dataset)
    assert _score_coco(cfg, val, shift=0.0) == pytest.approx(1.0)
    assert _score_coco(cfg, val, shift=0.5) < 0.2  # IoU 1/3 with its own box: below every COCO threshold


def _city_dataset(synthetic_cityscapes: Dict, split: str):
    cfg = _config(CITYSCAPES_CFG, synthetic_cityscapes['data_root'])
    return _build('mmseg', 'DATASETS', getattr(cfg, f'{split}_dataloader').dataset)


def test_cityscapes_dataset_reads_generated_set(synthetic_cityscapes: Dict):
    seen = set()
    for split in ('train', 'val'):
        dataset = _city_dataset(synthetic_cityscapes, split)
        assert len(dataset) == synthetic_cityscapes[f'num_{split}']
        for i in range(len(dataset)):
            sample = dataset[i]
            gt = sample['data_samples'].gt_sem_seg.data
            values = set(torch.unique(gt).tolist())
            assert values <= set(range(19)) | {255}
            if split == 'train':
                assert gt.shape[1:] == sample['inputs'].shape[1:]
            else:  # the val pipeline does not crop, so the ignored ego vehicle is always there
                assert 255 in values
            seen |= values
            train_ids = np.array(Image.open(dataset.get_data_info(i)['seg_map_path']))
            label_ids = np.array(Image.open(dataset.get_data_info(i)['seg_map_path'].replace(
                '_labelTrainIds.png', '_labelIds.png')))
            for train_id in np.unique(train_ids):
                expected = TRAINID_TO_LABELID[int(train_id)]
                assert set(np.unique(label_ids[train_ids == train_id])) == {expected}
    assert len(seen - {255}) >= 8, f'too few classes in the generated scenes: {sorted(seen)}'


def _score_city(val, corrupt: bool) -> float:
    """mIoU of the ground truth fed back as the prediction, optionally with its lower half set to road."""
    metric = _build('mmseg', 'METRICS', dict(type='IoUMetric', iou_metrics=['mIoU']))
    metric.dataset_meta = val.metainfo
    for i in range(len(val)):
        gt = val[i]['data_samples'].gt_sem_seg.data
        pred = gt.clone()
        if corrupt:
            pred[:, pred.shape[1] // 2:] = 0
        metric.process({}, [dict(pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt))])
    return metric.evaluate(len(val))['mIoU']


def test_iou_metric_scores_ground_truth_as_perfect(synthetic_cityscapes: Dict):
    val = _city_dataset(synthetic_cityscapes, 'val')
    assert _score_city(val, corrupt=False) == pytest.approx(100.0)
    assert _score_city(val, corrupt=True) < 90.0
