"""What the command-line tools share: config reading, the checks of the paths they are given, launchers.

Paths (``path_arg``, ``check_config_paths``): a path argument or a config key that names a missing file, a
folder where a file belongs (or the reverse), an unreadable file or a truncated checkpoint stops the tool
with one line naming the argument or key and the fix, before anything is built.
"""
import argparse
import inspect
import os
import os.path as osp
import zipfile
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.hub import get_config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .compat import package_configs

CONFIG_EXTENSIONS = ('.py', '.json', '.yaml', '.yml')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
PICKLE_PROTOCOL = 0x80  # the first byte of a pickle (torch's legacy, pre-zip checkpoint format)
_NOUNS = dict(config='a config file', checkpoint='a checkpoint file', image='an image file')
# Top-level keys the Runner reads from the top level: setting them with --cfg-options works. (A
# top-level `data_preprocessor` is a Runner argument too, but a model dict that has its own ignores it.)
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self', 'data_preprocessor'} | {
    'runner_type', 'custom_imports', 'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'tta_model',
    'tta_pipeline'}


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
    if path.startswith('mmkd_plugin::'):
        cfg = Config.fromfile(package_configs.config_path(path))
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


def path_problem(path: str, kind: str) -> Optional[str]:
    """What makes ``path`` unusable as a ``kind`` of path, with the fix; None when it is usable.

    Kinds: ``'config'`` (a local .py/.json/.yaml file, or an installed package's ``pkg::path``),
    ``'checkpoint'`` (a local file holding a complete zip archive or a pickle; URLs are left to the loader),
    ``'image'``, ``'folder'`` (one to read), ``'out_file'`` (a file to write: not a folder, under folders
    that may be missing) and ``'out_dir'`` (a folder to write: not a file).
    """
    if kind == 'config' and '::' in path:
        try:
            Config._get_cfg_path(path, '')
        except (FileNotFoundError, AssertionError, ValueError) as e:
            return (f'{e} (the form is package::path/in/its/configs.py, e.g. '
                    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py)')
        return None
    if kind == 'checkpoint' and '://' in path:
        return None
    if kind in ('out_file', 'out_dir'):
        return _output_problem(path, kind)
    if not osp.exists(path):
        return f'{path} does not exist: check the path' + (
            ' (relative paths start at the current folder)' if not osp.isabs(path) else '')
    if kind == 'folder':
        if not osp.isdir(path):
            return f'{path} is a file, not a folder: give the folder'
        try:
            os.listdir(path)
        except OSError as e:
            return f'{path} cannot be read ({e.strerror}): check its permissions'
        return None
    if osp.isdir(path):
        inside = _files_like(path, kind)
        return (f'{path} is a folder, not {_NOUNS[kind]}: give the file, e.g. '
                + (', '.join(osp.join(path, name) for name in inside) if inside else f'{path}/<name>'))
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
    except OSError as e:
        return f'{path} cannot be read ({e.strerror}): check its permissions'
    ext = osp.splitext(path)[1].lower()
    if kind == 'config' and ext not in CONFIG_EXTENSIONS:
        order = ' (the config comes first, then the checkpoint)' if head[:2] == b'PK' or head[:1] == b'\x80' else ''
        return f'{path} is not a config file ({", ".join(CONFIG_EXTENSIONS)}){order}'
    if kind == 'checkpoint':
        if ext in CONFIG_EXTENSIONS:
            return f'{path} is a config, not a checkpoint (the config comes first, then the checkpoint)'
        complete_zip = head[:2] == b'PK' and zipfile.is_zipfile(path)
        if not complete_zip and head[:1] != bytes([PICKLE_PROTOCOL]):
            return f'{path} is truncated or not a checkpoint: re-download or re-export it'
    if kind == 'image':
        import cv2
        import numpy as np
        with open(path, 'rb') as f:
            if cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_UNCHANGED) is None:
                return f'{path} is not an image OpenCV can decode ({", ".join(IMAGE_EXTENSIONS)})'
    return None


def _output_problem(path: str, kind: str) -> Optional[str]:
    if kind == 'out_file' and osp.isdir(path):
        return f'{path} is a folder: give a file name in it, e.g. {osp.join(path, "out")}'
    if kind == 'out_dir' and osp.exists(path) and not osp.isdir(path):
        return f'{path} is a file: give a folder (it is created if missing)'
    parent = osp.dirname(osp.abspath(path))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        return f'{path} cannot be created: {parent} is a file, not a folder'
    return None


def _files_like(folder: str, kind: str, shown: int = 3) -> List[str]:
    """Up to ``shown`` names in ``folder`` that look like a ``kind`` of file (the last ones, sorted)."""
    ends = dict(config=CONFIG_EXTENSIONS, checkpoint=('.pth', '.pt', '.ckpt'), image=IMAGE_EXTENSIONS)[kind]
    try:
        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(ends))
    except OSError:
        return []
    return names[-shown:]


def path_arg(kind: str, keep: Sequence[str] = ()) -> Callable[[str], str]:
    """An argparse ``type``: argparse stops the tool with one line naming the argument and what
    ``path_problem`` found (``error: argument --resume: x.pth does not exist: ...``). ``keep``: values
    that are not paths (``--resume``'s ``auto``)."""
    def check(value: str) -> str:
        problem = None if value in keep else path_problem(value, kind)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    check.__name__ = kind  # what argparse names in its own messages
    return check


def make_parent(path: str) -> str:
    """Create the folder ``path`` goes in (an output file's), return ``path``."""
    parent = osp.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return path


def check_config_paths(cfg: Config, dataloaders: Sequence[str] = ('train_dataloader', 'val_dataloader',
                                                                    'test_dataloader')) -> None:
    """The paths a config names that a user sets by hand: ``model.teacher_ckpt``, the ``cfg_path`` of
    ``model.teacher`` and ``model.architecture``, ``load_from`` and the ``data_root`` of ``dataloaders``'
    datasets. URLs and unset keys are left to the code that reads them (an unset ``teacher_ckpt`` is an
    error of the algorithm).

    Raises:
        SystemExit: one line naming the key, what is wrong and the option that sets it.
    """
    model = cfg.get('model') or {}
    checks = [('model.teacher_ckpt', model.get('teacher_ckpt'), 'checkpoint'),
              ('load_from', cfg.get('load_from'), 'checkpoint')]
    for part in ('teacher', 'architecture'):
        if isinstance(model.get(part), dict):
            checks.append((f'model.{part}.cfg_path', model[part].get('cfg_path'), 'config'))
    for loader in dataloaders:
        if isinstance(cfg.get(loader), dict):
            roots = _data_roots(cfg[loader].get('dataset'), f'{loader}.dataset')
            checks += [(key, root, 'folder') for key, root in roots]
    for key, value, kind in checks:
        if isinstance(value, str) and value and '://' not in value:
            problem = path_problem(value, kind)
            if problem:
                raise SystemExit(f'config key {key}: {problem}; set it with --cfg-options {key}=...')


def _data_roots(dataset, key: str) -> Iterator[Tuple[str, str]]:
    """``(key, data_root)`` of a dataset config and the datasets it wraps (``dataset``, ``datasets``)."""
    if not isinstance(dataset, dict):
        return
    if dataset.get('data_root'):
        yield f'{key}.data_root', dataset['data_root']
    yield from _data_roots(dataset.get('dataset'), f'{key}.dataset')
    for i, inner in enumerate(dataset.get('datasets') or []):
        yield from _data_roots(inner, f'{key}.datasets.{i}')


def fit_checkpoint(model: torch.nn.Module, checkpoint: dict, source: str, shown: int = 5) -> None:
    """Make ``checkpoint`` (as loaded, before the model gets it) fit ``model``, or stop.

    A distillation checkpoint (``architecture.*``) given for a plain model is replaced, in place, by its
    student (what ``tools/export_student.py`` writes), and a line says so. A distillation algorithm needs
    its student's tensors (``architecture.*``, or a plain student checkpoint, which it maps itself); a
    plain model needs all of its own.

    Raises:
        SystemExit: some of those tensors are not in the checkpoint or have other shapes; up to ``shown``
            are named.
    """
    from .engine.hooks.student_view_hook import student_checkpoint_view
    from .engine.student_checkpoint import STUDENT_PREFIX
    model = model.module if is_model_wrapper(model) else model
    nested = isinstance(checkpoint.get('state_dict'), dict)
    state = checkpoint['state_dict'] if nested else checkpoint
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    algorithm = isinstance(getattr(model, 'architecture', None), torch.nn.Module)
    expected = model.state_dict()
    prefixed = any(k.startswith(STUDENT_PREFIX) for k in state)
    if not algorithm and prefixed and not set(state) & set(expected):
        view, _ = student_checkpoint_view(checkpoint if nested else dict(state_dict=checkpoint))
        if nested:
            checkpoint['state_dict'] = view['state_dict']
        else:
            checkpoint.clear()
            checkpoint.update(view['state_dict'])
        state = view['state_dict']
        print_log(f'{source} is a distillation checkpoint: evaluating its student ({len(state)} '
                  f'{STUDENT_PREFIX}* tensors; teacher and distiller left out). tools/export_student.py writes '
                  'the student alone.', logger='current')
    if algorithm:
        expected = {k: v for k, v in expected.items() if k.startswith(STUDENT_PREFIX)}
        if not prefixed:  # a plain student checkpoint: the algorithm maps it onto its student
            state = {STUDENT_PREFIX + k: v for k, v in state.items()}
    unloaded = [k for k, v in expected.items() if not k.endswith('num_batches_tracked')
                and (k not in state or tuple(getattr(state[k], 'shape', ())) != tuple(v.shape))]
    if unloaded:
        more = f' and {len(unloaded) - shown} more' if len(unloaded) > shown else ''
        raise SystemExit(
            f'{source} leaves {len(unloaded)} of {len(expected)} model tensors unloaded (missing or of '
            f'another shape: {", ".join(unloaded[:shown])}{more}), and the model would be evaluated with '
            'random weights. Give the config the checkpoint was trained with (for a distillation run: its '
            'distillation config, or the student config with the *_student.pth that tools/export_student.py '
            'writes).')


class CheckpointFitHook(Hook):
    """``fit_checkpoint`` on every checkpoint the Runner loads, before any other hook or the model sees it."""

    priority = 'HIGHEST'

    def __init__(self, source: str) -> None:
        self.source = source

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        fit_checkpoint(runner.model, checkpoint, self.source)


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
