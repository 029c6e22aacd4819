"""Config handling shared by the command-line tools (tools/train.py, tools/test.py)."""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.hub import get_config

from .compat import package_configs


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments every mmdet/mmseg-style tool takes: work dir, overrides, launcher."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2 '
                        'model.teacher_ckpt=teacher.pth')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def read_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """A local config file or an installed package's ``pkg::path``, with ``--cfg-options`` merged."""
    if path.startswith('mmkd_plugin::'):
        cfg = Config.fromfile(package_configs.config_path(path))
    else:
        cfg = get_config(path) if '::' in path else Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_config(args: argparse.Namespace) -> Config:
    """``args.config`` (a local file or an installed package's ``pkg::path``) with the overrides, launcher
    and work dir applied (mmdet's tool behaviour)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def configure_amp(cfg: Config) -> None:
    """``--amp``: fp16 with dynamic loss scaling on GPU (MMEngine's ``AmpOptimWrapper``), bf16
    autocast on a machine without GPU (``AutocastOptimWrapper``; ``AmpOptimWrapper`` asserts a GPU)."""
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    else:
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.optim_wrapper.pop('loss_scale', None)


def finish_distributed() -> None:
    """End a distributed run in step: every process waits for the others (rank 0 may still be writing
    the student export) before the process group is destroyed. Without it a process that exits first can
    abort the others' gloo threads at interpreter exit ("terminate called without an active exception",
    seen once in CI); torch also asks for ``destroy_process_group`` at the end."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def configure_cpu_distributed(cfg: Config) -> None:
    """Let ``torchrun`` (``tools/dist_train.sh``) run on machines without a GPU, with gloo.

    MMEngine's ``init_dist`` binds every process to a GPU (``torch.cuda.set_device``) and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without CUDA, and torch's SyncBN refuses CPU
    tensors (``CPUDistributedDataParallel`` reverts it). Here the process group is
    started with gloo from torchrun's environment (the Runner then skips ``init_dist``) and DDP gets
    no device ids. Nothing changes on a GPU machine or without a launcher.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f'--launcher {cfg.launcher} needs GPUs here; on CPU use torchrun '
                           '(tools/dist_train.sh, --launcher pytorch), which runs on gloo.')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type') in ('MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        wrapper['type'] = 'CPUDistributedDataParallel'  # + SyncBN reverted to BN
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
