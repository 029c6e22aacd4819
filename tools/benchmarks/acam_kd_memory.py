"""Peak memory and time of one ACAM-KD level (forward + backward), next to a plain MSE on the same features.

    python tools/benchmarks/acam_kd_memory.py [--height 100 --width 168 --channels 256 --batch 1]
                                              [--level C H W ...] [--device cpu|cuda] [--amp]
                                              [--with-math] [--fused-only] [--repeat 3] [--json]

The default size is P3 of an 800x1333 image (stride 8, padded to 32: 100 x 168 = 16,800 tokens), C = 256.
``--level C H W`` (repeatable) measures several levels in one run instead, e.g. the five FPN levels of
800x1333 (``256 100 168``, ``256 50 84``, ...) and Cityscapes' 19 logits at 512x1024 / 8 (``19 64 128``).
On CPU each case runs in a fresh process, so that peaks (the high-water mark of the resident set) do not mix;
on CUDA the cases run in turn in one process and the peak is ``torch.cuda.max_memory_allocated`` above the
inputs. ACAM-KD runs with both of STCA-FF's kernels (``ACAMKDLoss(attention_kernel=...)``): ``chunked`` (the
CPU default at this width, C >= 8 M) and ``sdpa`` (SDPA's fused kernels, the default for narrow values and
on other devices). ``--fused-only`` forbids SDPA's math backend in the ``sdpa`` case, so that SDPA raises
where no fused kernel takes the inputs instead of building the HW x HW matrix. ``--with-math`` adds ACAM-KD
with SDPA forced onto its math backend, i.e. what that matrix costs (docs/benchmarks.md gives the measured
peak). ACAM-KD uses the shipped configs' mask count: 6 masks on 256-channel FPN levels, one per class on logits.
``--in-process`` runs the CPU cases in one process as on CUDA (the GPU check's dry run: the
code path, not the figures). ``--amp``: under autocast (fp16 on cuda, bf16 on cpu), as
``tools/train.py --amp`` runs the loss.
"""
import argparse
import contextlib
import json
import multiprocessing as mp
import resource
import time


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _case(name: str, args: dict, queue=None) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    import mmkd_plugin  # noqa: F401
    from mmkd_plugin.models.losses.acam_kd import ACAMKDLoss

    torch.manual_seed(0)
    torch.set_num_threads(args['threads'] or torch.get_num_threads())
    device = torch.device(args['device'])
    shape = (args['batch'], args['channels'], args['height'], args['width'])
    student = torch.randn(shape, device=device, requires_grad=True)
    teacher = torch.randn(shape, device=device)
    backends = None  # SDPA's default choice
    if name == 'acam-kd (math SDPA)':
        backends = [SDPBackend.MATH]
    elif name == 'acam-kd (sdpa)' and args['fused_only']:
        backends = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]
    loss = None
    if name != 'mse':
        kernel = 'chunked' if name == 'acam-kd (chunked)' else 'sdpa'
        loss = ACAMKDLoss(args['channels'], args['channels'], num_masks=num_masks(args['channels']),
                          attention_kernel=kernel).to(device)
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=args['amp']), \
                (sdpa_kernel(backends) if backends else contextlib.nullcontext()):
            out = F.mse_loss(student, teacher) if loss is None else loss(student, teacher)
        out.backward()

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
        # a high-water mark: in a process that ran a larger case before (--in-process), no rise shows
        peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)
    result = dict(case=name, channels=args['channels'], height=args['height'], width=args['width'],
                  batch=args['batch'], amp=args['amp'], fused_only=args['fused_only'],
                  peak_mb=round(peak / 2**20, 1), time_s=round(min(times), 4))
    if queue is not None:
        queue.put(result)
    return result


def num_masks(channels: int) -> int:
    """The shipped configs' mask count: 6 on an FPN level (256 channels), one per class on logits (19)."""
    return channels if channels < 64 else 6


def _error(name: str, args: dict, error: str) -> dict:
    return dict(case=name, channels=args['channels'], height=args['height'], width=args['width'], amp=args['amp'],
                error=error)


def _run(name: str, args: dict) -> dict:
    """One case: in this process on CUDA, in a fresh one on CPU (its own resident-set high-water mark)."""
    if args['device'] == 'cuda' or args['in_process']:
        import torch
        try:
            return _case(name, args)
        except Exception as e:  # e.g. no fused kernel for these inputs under --fused-only
            return _error(name, args, f'{type(e).__name__}: {e}'[:300])
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    queue = mp.get_context('spawn').Queue()
    proc = mp.get_context('spawn').Process(target=_case, args=(name, args, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        return _error(name, args, f'exit code {proc.exitcode}')
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--height', type=int, default=100)
    parser.add_argument('--width', type=int, default=168)
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--level', type=int, nargs=3, action='append', metavar=('C', 'H', 'W'),
                        help='a level to measure (repeatable); overrides --channels/--height/--width')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true', help='under autocast (fp16 on cuda, bf16 on cpu)')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: torch default)')
    parser.add_argument('--with-math', action='store_true', help='also run SDPA on its math backend')
    parser.add_argument('--fused-only', action='store_true', help="forbid SDPA's math backend in the sdpa case")
    parser.add_argument('--json', action='store_true', help='print one JSON line per case')
    parser.add_argument('--in-process', action='store_true',
                        help="on CPU too, every case in this process, as on CUDA (fast; the CPU peaks then mix: "
                             "a case's figure is a lower bound only)")
    args = vars(parser.parse_args())
    levels = args.pop('level') or [(args['channels'], args['height'], args['width'])]
    cases = ['mse', 'acam-kd (chunked)', 'acam-kd (sdpa)'] + (['acam-kd (math SDPA)'] if args['with_math'] else [])
    failed = False
    for channels, height, width in levels:
        args.update(channels=channels, height=height, width=width)
        print(f"{args['batch']} x {channels} x {height} x {width} ({height * width} tokens), forward + backward "
              f"on {args['device']}{' under autocast' if args['amp'] else ''}, best of {args['repeat']}:", flush=True)
        for name in cases:
            result = _run(name, args)
            failed |= 'error' in result
            if args['json']:
                print(json.dumps(result), flush=True)
            elif 'error' in result:
                print(f"{name:>22}: failed ({result['error']})", flush=True)
            else:
                print(f"{name:>22}: peak {result['peak_mb']:8.1f} MB above the inputs, {result['time_s']:.3f} s",
                      flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == '__main__':
    main()
