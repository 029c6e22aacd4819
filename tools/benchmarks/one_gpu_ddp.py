"""Two DDP processes on a machine with one GPU (``tools/gpu_check.sh``): a collective probe, and tools/train.py.

    torchrun --nproc_per_node 2 tools/benchmarks/one_gpu_ddp.py probe [--backend nccl|gloo]
    torchrun --nproc_per_node 2 tools/benchmarks/one_gpu_ddp.py train CONFIG [tools/train.py arguments]

``probe``: every rank puts its tensor on ``cuda:0`` (CPU without a GPU), all-reduces it and checks the sum;
rank 0 prints one JSON line. NCCL refuses two ranks on one device ("Duplicate GPU detected") in the
versions seen so far; the probe says whether this machine's does.

``train``: ``tools/train.py`` under torchrun with every rank on GPU 0. MMEngine binds rank ``LOCAL_RANK`` to
``cuda:LOCAL_RANK`` (``init_dist``, and the DDP wrapper's ``device_ids``), which does not exist on a machine
with fewer GPUs than ranks; here ``LOCAL_RANK`` is 0 for every rank when there are fewer GPUs than ranks, and
nothing else changes (the backend is the config's ``env_cfg.dist_cfg.backend``: ``--cfg-options
env_cfg.dist_cfg.backend=gloo`` where NCCL refuses). A real multi-GPU machine needs none of this:
``tools/dist_train.sh CONFIG GPUS``.
"""
import argparse
import json
import os
import os.path as osp
import runpy
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def probe(backend: str) -> None:
    import torch
    import torch.distributed as dist
    dist.init_process_group(backend)
    device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    value = torch.full((4,), float(dist.get_rank() + 1), device=device)
    dist.all_reduce(value)
    expected = dist.get_world_size() * (dist.get_world_size() + 1) / 2
    ok = bool((value == expected).all())
    if dist.get_rank() == 0:
        print(json.dumps(dict(backend=backend, world_size=dist.get_world_size(), device=str(device),
                              all_reduce_sum=float(value[0]), expected=expected, ok=ok)), flush=True)
    dist.barrier()
    dist.destroy_process_group()
    sys.exit(0 if ok else 1)


def train(argv: list) -> None:
    import torch
    local_world = int(os.environ.get('LOCAL_WORLD_SIZE', '1'))
    if torch.cuda.is_available() and torch.cuda.device_count() < local_world:
        os.environ['LOCAL_RANK'] = '0'  # every rank on GPU 0 (see the module docstring)
    script = osp.join(REPO, 'tools', 'train.py')
    sys.argv = [script, *argv]
    runpy.run_path(script, run_name='__main__')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='what', required=True)
    p = sub.add_parser('probe')
    p.add_argument('--backend', default='nccl')
    sub.add_parser('train', add_help=False)
    args, rest = parser.parse_known_args()
    if args.what == 'probe':
        probe(args.backend)
    else:
        train(rest)


if __name__ == '__main__':
    main()
