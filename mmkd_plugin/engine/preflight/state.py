"""Leave a model and the random generators exactly as they were: the preflight must not change training.

What is saved on entry and put back on exit (also when the block raises):

- python's ``random``, numpy's and torch's generators (CPU, and every CUDA device's once CUDA is
  initialised);
- every parameter's and buffer's values (BN running statistics and counters, non-persistent buffers
  too), copied back in place, so optimizers and hooks keep the same tensors;
- every parameter's ``.grad`` (the object itself: a gradient the block produced is dropped);
- every module's ``training`` flag;
- the extra state of modules that define one (``get_extra_state``: HARD's augmentor optimizer).

Not covered: Python attributes a forward sets (a recorder's buffer, statistics kept for logging); each
is overwritten by the first training step. Neither the optimizer nor any data loader is touched here.
"""
import contextlib
import copy
import random
from typing import Iterator

import numpy as np
import torch
from torch import nn


def _rng_state() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state:
        torch.cuda.set_rng_state_all(state['cuda'])


def _has_extra_state(module: nn.Module) -> bool:
    return type(module).get_extra_state is not nn.Module.get_extra_state


@contextlib.contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Run the block, then put ``model`` and the random generators back as they were (module docstring)."""
    rng = _rng_state()
    params = list(model.parameters())
    buffers = list(model.buffers())
    saved_params = [p.detach().clone() for p in params]
    saved_grads = [p.grad for p in params]
    saved_buffers = [b.detach().clone() for b in buffers]
    modes = [(m, m.training) for m in model.modules()]
    extra = [(m, copy.deepcopy(m.get_extra_state())) for m in model.modules() if _has_extra_state(m)]
    try:
        yield
    finally:
        with torch.no_grad():
            for p, saved, grad in zip(params, saved_params, saved_grads):
                p.copy_(saved)
                p.grad = grad
            for b, saved in zip(buffers, saved_buffers):
                b.copy_(saved)
        for module, training in modes:
            module.training = training
        for module, state in extra:
            module.set_extra_state(state)
        _set_rng_state(rng)
