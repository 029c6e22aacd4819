"""Batches for the preflight, drawn from a run's datasets without touching its data loaders.

The run's loaders are never iterated (their samplers, batch samplers and workers keep their state). The
images are read from the loader's dataset in the main process, through copies of its pipelines, so a
transform that keeps state between calls (mmdet's ``CachedMosaic``, ``CachedMixUp``) is left as it was;
the random generators a random transform draws from are restored by ``state.preserved_state``.
"""
import copy
from typing import Callable, Iterator, List, Optional

from mmengine.dataset import pseudo_collate


def isolated(dataset):
    """A shallow copy of ``dataset`` with its own copy of every pipeline (wrapped datasets' too).

    The annotations stay shared (they are read, not written).
    """
    clone = copy.copy(dataset)
    if hasattr(dataset, 'pipeline'):
        clone.pipeline = copy.deepcopy(dataset.pipeline)
    if hasattr(dataset, 'dataset'):
        clone.dataset = isolated(dataset.dataset)
    if isinstance(getattr(dataset, 'datasets', None), (list, tuple)):
        clone.datasets = [isolated(d) for d in dataset.datasets]
    return clone


def loader_batch_size(loader) -> int:
    """The batch size of a data loader (its ``batch_sampler``'s when it has one), 1 if unknown."""
    size = getattr(loader, 'batch_size', None) or getattr(getattr(loader, 'batch_sampler', None), 'batch_size', None)
    return int(size or 1)


def batches(dataset, num_images: int, batch_size: int,
            collate_fn: Optional[Callable[[List], dict]] = None) -> Iterator[dict]:
    """The first ``num_images`` images of ``dataset`` (all of them if fewer), in order, collated in
    batches of ``batch_size`` (the last may be smaller) with ``collate_fn`` (MMEngine's ``pseudo_collate``
    by default)."""
    collate_fn = collate_fn or pseudo_collate
    source = isolated(dataset)
    count = min(num_images, len(source))
    for start in range(0, count, batch_size):
        yield collate_fn([source[i] for i in range(start, min(start + batch_size, count))])


def first_batch(loader) -> dict:
    """One batch of ``loader``'s batch size: the first images of its dataset through its pipeline and its
    ``collate_fn`` (not the sampler's first batch: the sampler is not run)."""
    size = loader_batch_size(loader)
    return next(batches(loader.dataset, size, size, getattr(loader, 'collate_fn', None)))
