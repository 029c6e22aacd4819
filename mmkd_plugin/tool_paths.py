"""The paths the command-line tools are given: a path argument or a config key that names a missing file, a
folder where a file belongs (or the reverse), an unreadable file or a truncated checkpoint stops the tool with
one line naming the argument or key and the fix, before anything is built.
"""
import argparse
import os
import os.path as osp
import re
import zipfile
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config

CONFIG_EXTENSIONS = ('.py', '.json', '.yaml', '.yml')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
PICKLE_PROTOCOL = 0x80  # the first byte of a pickle (torch's legacy, pre-zip checkpoint format)
_NOUNS = dict(config='a config file', checkpoint='a checkpoint file', image='an image file')


def installed_config(path: str) -> str:
    """``pkg::folder/name.py`` as MMEngine can read it: unchanged, or the installed file where MMEngine cannot.

    MMEngine 0.10.7 takes a ``pkg::`` path only when its folder is made of word characters
    (``re.match(r'\\w*::\\w*/\\w*', path)`` in ``mmengine.config.utils._get_package_and_cfg_path``), so
    ``mmdet::gn+ws/...`` and ``mmdet::legacy_1.x/...`` stop with a ValueError that asks for the form they already
    have. Those become the file in the package's ``.mim/configs`` (an absolute path); any other path is returned
    as it is.
    """
    if '::' not in path or re.match(r'\w*::\w*/\w*', path):
        return path
    from mmengine.utils import get_installed_path, is_installed
    from mmengine.config.utils import MODULE2PACKAGE
    package, _, rel = path.partition('::')
    if package not in MODULE2PACKAGE or not is_installed(MODULE2PACKAGE[package]):
        return path
    local = osp.join(get_installed_path(MODULE2PACKAGE[package]), '.mim', 'configs', rel)
    return local if osp.isfile(local) else path


def path_problem(path: str, kind: str) -> Optional[str]:
    """What makes ``path`` unusable as a ``kind`` of path, with the fix; None when it is usable.

    Kinds: ``'config'`` (a local .py/.json/.yaml file, or an installed package's ``pkg::path``),
    ``'checkpoint'`` (a local file holding a complete zip archive or a pickle; URLs are left to the loader),
    ``'image'``, ``'folder'`` (one to read), ``'out_file'`` (a file to write: not a folder, under folders
    that may be missing) and ``'out_dir'`` (a folder to write: not a file).
    """
    if kind == 'config' and '::' in path and installed_config(path) != path:
        return None
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
