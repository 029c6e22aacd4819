"""Side-by-side timings for the benchmark scripts in tools/benchmarks/."""
import statistics
import time
from typing import Callable, Dict, Sequence

import torch

Timings = Dict[str, Dict[str, float]]


def interleaved_timings(fns: Dict[str, Callable[[], object]], iters: int) -> Timings:
    """Wall and CPU seconds of each function over ``iters`` rounds that run them in turn.

    Returns, per function, the minimum and the median of the wall-clock time and of the process CPU
    time (all threads). Interleaving spreads drift in the machine's load evenly over the
    measurements; on a shared machine the minimum is the least disturbed estimate of the cost.
    """
    for fn in fns.values():
        fn()  # warm-up: allocator, lazily built anchors, etc.
    times = {name: ([], []) for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return {name: {'wall min': min(w), 'wall median': statistics.median(w),
                   'CPU min': min(c), 'CPU median': statistics.median(c)}
            for name, (w, c) in times.items()}


def print_timings(results: Timings, ratios: Dict[str, tuple], width: int = 16) -> None:
    """Print ``results`` in ms, then one row per ratio ``label: (numerator, denominators, note)``.

    Each ratio row divides the numerator's time by the sum of the denominators' times, per column.
    """
    columns = list(next(iter(results.values())))
    print(f'  {"":<{width}}' + ''.join(f'{c:>13}' for c in columns))
    for name, row in results.items():
        print(f'  {name:<{width}}' + ''.join(f'{row[c] * 1000:13.1f}' for c in columns))
    for label, (numerator, denominators, note) in ratios.items():
        values = [results[numerator][c] / sum(results[d][c] for d in denominators) for c in columns]
        print(f'  {label:<{width}}' + ''.join(f'{v:13.3f}' for v in values) + f'   {note}')


def ratio(numerator: str, denominators: Sequence[str], note: str) -> tuple:
    return numerator, tuple(denominators), note


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
