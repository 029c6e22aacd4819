"""Side-by-side timings for the benchmark scripts in tools/benchmarks/."""
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch


def spread(values: Sequence[float]) -> Dict[str, float]:
    """``min``, ``median`` and ``max`` of ``values``."""
    return {'min': min(values), 'median': statistics.median(values), 'max': max(values)}


def interleaved_rounds(fns: Dict[str, Callable[[], object]], iters: int) -> Dict[str, List[float]]:
    """Wall-clock seconds of each function in each of ``iters`` rounds that run them in turn.

    One warm-up call each first. Interleaving spreads drift in the machine's load evenly over the
    functions, and a ratio of two functions' times taken within one round compares runs a few seconds
    apart; ``rounds[name][r]`` is round ``r``.
    """
    for fn in fns.values():
        fn()  # warm-up: allocator, lazily built anchors, etc.
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # the warm-up's kernels finish before round 1's clock starts
    rounds = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            wall = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            rounds[name].append(time.perf_counter() - wall)
    return rounds


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes of tensor memory ``fn`` allocates above what was allocated before it ran.

    On CUDA: ``torch.cuda.max_memory_allocated``. On CPU, where torch keeps no such counter: the
    profiler's memory records, summed in time order (each op's own allocations, and the frees), and
    their running maximum. Both count tensors only, not the allocator's cache or Python objects.
    """
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak
