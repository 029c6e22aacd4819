"""PS-KD's per-sample prediction memory (``PSKDHook(mode='memory')``), as in the official code.

Official ``main.py`` (lgcnsai/PS-KD-Pytorch) keeps ``all_predictions``, an (N_train, C) float32 CPU
tensor: during epoch 0 the rows of the batch are set to the one-hot labels before use, the soft
targets read the rows of the batch's indices, and after each optimizer step the rows are overwritten
with that step's softmax outputs, all-gathered across processes under DDP. Here a row that has never
been written is "unseen" and the loss uses the label for it, which is the same during epoch 0 and
also covers samplers that do not visit every sample in the first epoch (iteration-based loops).
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.dist import all_gather, get_world_size
from torch import Tensor


class PredictionMemory:
    """An (num_samples, C) float32 CPU table of the last softmax output of every training sample.

    Args:
        num_samples: size of the training set; rows are addressed by ``sample_idx``.
    """

    def __init__(self, num_samples: int) -> None:
        self.num_samples = num_samples
        self.probs: Optional[Tensor] = None  # allocated at the first write, when C is known
        self.seen = torch.zeros(num_samples, dtype=torch.bool)

    def lookup(self, indices: Tensor) -> Tuple[Optional[Tensor], Tensor]:
        """Rows and ``seen`` flags of ``indices``; rows are None while nothing has been written."""
        indices = self._check(indices)
        if self.probs is None:
            return None, torch.zeros(len(indices), dtype=torch.bool)
        return self.probs[indices], self.seen[indices]

    def write(self, indices: Tensor, probs: Tensor) -> None:
        """Store ``probs`` (n, C) at ``indices``; for a repeated index the last row wins (as the
        official loop over the gathered rows, e.g. for the samples DDP's sampler pads with)."""
        indices = self._check(indices)
        probs = probs.detach().to('cpu', torch.float32)
        if self.probs is None:
            self.probs = torch.zeros(self.num_samples, probs.shape[1], dtype=torch.float32)
        elif probs.shape[1] != self.probs.shape[1]:
            raise ValueError(f'the memory holds {self.probs.shape[1]} classes, got rows of {probs.shape[1]}.')
        unique, inverse = torch.unique(indices, return_inverse=True)
        last = torch.zeros(len(unique), dtype=torch.long).scatter_reduce_(
            0, inverse, torch.arange(len(indices)), reduce='amax', include_self=False)
        self.probs[unique] = probs[last]
        self.seen[unique] = True

    def _check(self, indices: Tensor) -> Tensor:
        indices = indices.to('cpu', torch.long)
        if len(indices) and (indices.min() < 0 or indices.max() >= self.num_samples):
            raise IndexError(
                f'sample_idx out of range [0, {self.num_samples}): got {indices.tolist()}. The memory is '
                'sized by the training set; a ConcatDataset restarts sample_idx in each part and is not '
                'supported by mode="memory".')
        return indices

    def state_dict(self) -> Dict[str, Optional[Tensor]]:
        return dict(probs=self.probs, seen=self.seen)

    def load_state_dict(self, state: Dict[str, Optional[Tensor]]) -> None:
        seen = state['seen']
        if len(seen) != self.num_samples:
            raise ValueError(f'the checkpoint memory has {len(seen)} samples, the training set '
                             f'{self.num_samples}; resume with the same training set.')
        self.probs = None if state['probs'] is None else state['probs'].float().cpu()
        self.seen = seen.bool().cpu()


def gather_rows(indices: Tensor, probs: Tensor) -> Tuple[Tensor, Tensor]:
    """All-gather every process's (indices, probs), in rank order; ranks may have different counts."""
    if get_world_size() == 1:
        return indices, probs
    count = torch.tensor([len(indices)], device=probs.device)
    counts = [int(c) for c in all_gather(count)]
    pad = max(counts) - len(indices)
    indices = torch.cat([indices.to(probs.device), indices.new_zeros(pad).to(probs.device)])
    probs = torch.cat([probs, probs.new_zeros(pad, probs.shape[1])])
    gathered_idx = [g[:n] for g, n in zip(all_gather(indices), counts)]
    gathered_probs = [g[:n] for g, n in zip(all_gather(probs.contiguous()), counts)]
    return torch.cat(gathered_idx), torch.cat(gathered_probs)
