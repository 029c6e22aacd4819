"""Peak memory and time of one ACAM-KD level (forward + backward), next to a plain MSE on the same features.

    python tools/benchmarks/acam_kd_memory.py [--height 100 --width 168 --channels 256 --batch 1]
                                              [--device cpu|cuda] [--with-math] [--repeat 3]

The default size is P3 of an 800x1333 image (stride 8, padded to 32: 100 x 168 = 16,800 tokens), C = 256.
Each case runs in a fresh process, so that CPU peaks (the high-water mark of the resident set) do not mix;
on CUDA the peak is ``torch.cuda.max_memory_allocated``. ACAM-KD runs with both of STCA-FF's kernels
(``ACAMKDLoss(attention_kernel=...)``): ``chunked`` (the CPU default at this width, C >= 8 M) and ``sdpa``
(SDPA's fused kernels, the default for narrow values and on other devices). ``--with-math`` adds ACAM-KD with SDPA
forced onto its math backend, i.e. what the HW x HW matrix costs (docs/benchmarks.md gives the measured peak).
"""
import argparse
import json
import multiprocessing as mp
import resource
import time


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _case(name: str, args: dict, queue) -> None:
    import torch
    import torch.nn.functional as F

    import mmkd_plugin  # noqa: F401
    from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss

    torch.manual_seed(0)
    torch.set_num_threads(args['threads'] or torch.get_num_threads())
    device = torch.device(args['device'])
    shape = (args['batch'], args['channels'], args['height'], args['width'])
    student = torch.randn(shape, device=device, requires_grad=True)
    teacher = torch.randn(shape, device=device)
    if name == 'mse':
        def step():
            F.mse_loss(student, teacher).backward()
    else:
        kernel = 'chunked' if name == 'acam-kd (chunked)' else 'sdpa'
        loss = ACAMKDLoss(args['channels'], args['channels'], num_masks=6, attention_kernel=kernel).to(device)

        def step():
            if name == 'acam-kd (math SDPA)':
                from torch.nn.attention import SDPBackend, sdpa_kernel
                with sdpa_kernel(SDPBackend.MATH):
                    loss(student, teacher).backward()
            else:
                loss(student, teacher).backward()

    step()  # warm-up (allocator, kernels)
    student.grad = None
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    times = []
    for _ in range(args['repeat']):
        start = time.perf_counter()
        step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        student.grad = None
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    queue.put(dict(case=name, peak_mb=round(peak / 2**20, 1), time_s=round(min(times), 3)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--height', type=int, default=100)
    parser.add_argument('--width', type=int, default=168)
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default)')
    parser.add_argument('--with-math', action='store_true', help='also run SDPA on its math backend')
    parser.add_argument('--json', action='store_true', help='print one JSON line per case')
    args = vars(parser.parse_args())
    cases = ['mse', 'acam-kd (chunked)', 'acam-kd (sdpa)'] + (['acam-kd (math SDPA)'] if args['with_math'] else [])
    ctx = mp.get_context('spawn')
    tokens = args['height'] * args['width']
    print(f"{args['batch']} x {args['channels']} x {args['height']} x {args['width']} ({tokens} tokens), "
          f"forward + backward on {args['device']}, best of {args['repeat']}:")
    for name in cases:
        queue = ctx.Queue()
        proc = ctx.Process(target=_case, args=(name, args, queue))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            print(f'{name:>22}: failed (exit code {proc.exitcode})')
            continue
        result = queue.get()
        if args['json']:
            print(json.dumps(result))
        else:
            print(f"{name:>22}: peak {result['peak_mb']:8.1f} MB above the inputs, {result['time_s']:.3f} s")


if __name__ == '__main__':
    main()
