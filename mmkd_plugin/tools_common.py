"""What the command-line tools share: reading a config with its overrides, launchers, AMP.

The checks of the paths they are given: ``mmkd_plugin.tool_paths``.
"""
import argparse
import inspect
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.hub import get_config
from mmengine.runner import Runner

from .compat import package_configs
from .tool_paths import installed_config, path_arg

# Top-level keys the Runner reads from the top level: setting them with --cfg-options works. (A
# top-level `data_preprocessor` is a Runner argument too, but a model dict that has its own ignores it.)
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self', 'data_preprocessor'} | {
    'runner_type', 'custom_imports', 'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'tta_model',
    'tta_pipeline', 'preflight'}


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments every mmdet/mmseg-style tool takes: work dir, overrides, launcher."""
    parser.add_argument('--work-dir', type=path_arg('out_dir'), help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2 '
                        'model.teacher_ckpt=teacher.pth')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def read_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """A local config file or an installed package's ``pkg::path``, with ``--cfg-options`` merged.

    Raises:
        SystemExit: an option sets a variable of the config file (``teacher_ckpt=...``) whose value
            MMEngine already copied into the keys that use it (see ``check_variable_options``).
    """
    local = installed_config(path)  # a pkg:: folder MMEngine cannot name: the installed file
    if path.startswith('mmkd_plugin::'):
        cfg = Config.fromfile(package_configs.config_path(path))
    elif local != path:
        cfg = Config.fromfile(local)
    else:
        cfg = get_config(path) if '::' in path else Config.fromfile(path)
    if cfg_options:
        check_variable_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_variable_options(cfg: Config, cfg_options: dict) -> None:
    """Stop when a ``--cfg-options`` key is a variable of the config file that other keys copied.

    ``teacher_ckpt = 'a.pth'; model = dict(teacher_ckpt=teacher_ckpt)``: MMEngine substitutes the variable
    when it reads the file, so ``--cfg-options teacher_ckpt=b.pth`` changes the top-level copy only and the
    run would silently use ``a.pth``. The keys under other top-level keys that hold the variable's value are
    named, as the options to give instead (``model.teacher_ckpt=b.pth``). Keys the Runner itself reads from
    the top level (``load_from``, ``work_dir``, ``train_cfg`` ...) are never reported.

    Raises:
        SystemExit: naming the variable and the options to set instead.
    """
    for key, value in cfg_options.items():
        name, _, rest = key.partition('.')
        if name in RUNNER_KEYS or name not in cfg:
            continue
        tail = f'.{rest}' if rest else ''
        copies = [path for path in _copies_of(cfg[name], cfg, name) if path + tail not in cfg_options]
        if not copies:
            continue
        instead = ' '.join(f'{path}{tail}={_option_text(value)}' for path in copies)
        raise SystemExit(
            f'--cfg-options {key}: `{name}` is a variable of the config file; MMEngine copied its value into '
            f'the keys that use it when it read the file, so setting it now changes nothing. Set those keys '
            f'instead: --cfg-options {instead} (values built from it, such as joined paths, kept the old '
            'value too).')


def _copies_of(value, cfg: Config, name: str) -> List[str]:
    """Dotted paths, under top-level keys other than ``name``, whose value equals ``value``."""
    if value is None or isinstance(value, bool) or (isinstance(value, (str, dict, list, tuple)) and not value):
        return []
    found = []
    for top, node in cfg.items():
        if top != name:
            found += [path for path, item in _walk(node, top) if path != top and _same(item, value)]
    return found


def _walk(node, path: str) -> Iterator[Tuple[str, object]]:
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    for key, child in items:
        yield from _walk(child, f'{path}.{key}')


def _same(a, b) -> bool:
    """Equal, and of one type (``1`` is not ``1.0`` or ``True``); any two dicts compare by content."""
    return (isinstance(a, dict) and isinstance(b, dict) or type(a) is type(b)) and a == b


def _option_text(value) -> str:
    return value if isinstance(value, str) else repr(value).replace(' ', '')


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
