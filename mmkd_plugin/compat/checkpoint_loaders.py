"""Every MMEngine checkpoint scheme loads through ``safe_torch_load`` (``weights_only=True``).

MMEngine 0.10.7's ``CheckpointLoader`` reads local files with a bare ``torch.load`` and URLs through
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to False: a file in the torch hub
cache under a teacher URL's name ran ``os.system`` when the teacher was loaded. Here each scheme is
registered again (``force=True``) with the same resolution of names and URLs, the same download
location (``torch.hub.get_dir()/checkpoints``, downloaded by local rank 0 first under DDP) and the same
post-processing, but every file is unpickled by :func:`~.safe_checkpoint.safe_torch_load`:

``''`` (local paths), ``http://``/``https://``, ``torchvision://``/``modelzoo://``,
``open-mmlab://``/``openmmlab://``, ``mmcls://``, ``pavi://`` and ``s3://``/``petrel://``.
"""
import io
import os
import os.path as osp
from tempfile import TemporaryDirectory
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

from .safe_checkpoint import safe_torch_load


def load_from_local(filename: str, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location)


def download(url: str, model_dir=None) -> str:
    """The local copy of ``url`` in the torch hub cache, downloaded if missing (rank 0 first)."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    path = osp.join(model_dir, osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(path):
        os.makedirs(model_dir, exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=os.isatty(0))
    if world_size > 1:
        torch.distributed.barrier()
        if not osp.isfile(path):  # another node's rank 0 downloaded it, not ours
            torch.hub.download_url_to_file(url, path, progress=False)
    return path


def load_from_http(filename: str, map_location=None, model_dir=None):
    return safe_torch_load(download(filename, model_dir), map_location, source=filename)


def load_from_torchvision(filename: str, map_location=None):
    name = filename[len('modelzoo://'):] if filename.startswith('modelzoo://') else filename[len('torchvision://'):]
    try:
        urls = mm_ckpt.get_torchvision_models()
    except (ImportError, RuntimeError) as error:  # not installed; or a build for another torch
        raise ImportError(
            f'{filename}: MMEngine looks torchvision:// weights up in torchvision, which does not import here '
            f'({type(error).__name__}: {error}). Install the torchvision that matches your torch (torch 2.13: '
            'torchvision 0.28, the CPU or CUDA build like torch), or give the backbone init_cfg a local file or '
            'an https:// URL, or init_cfg=None to start from scratch.') from error
    return load_from_http(urls[name], map_location)


def load_from_openmmlab(filename: str, map_location=None):
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    name = filename[len(prefix):]
    name = mm_ckpt.get_deprecated_model_names().get(name, name)
    url = mm_ckpt.get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(mm_ckpt._get_mmengine_home(), url), map_location)


def load_from_mmcls(filename: str, map_location=None):
    checkpoint = load_from_http(mm_ckpt.get_mmcls_models()[filename[len('mmcls://'):]], map_location)
    return mm_ckpt._process_mmcls_checkpoint(checkpoint)


def load_from_pavi(filename: str, map_location=None):
    from pavi import modelcloud  # MMEngine's optional dependency, as in its own loader
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp:
        path = osp.join(tmp, model.name)
        model.download(path)
        return safe_torch_load(path, map_location, source=filename)


def load_from_ceph(filename: str, map_location=None, backend: str = 'petrel'):
    file_backend = mm_ckpt.get_file_backend(filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_torch_load(buffer, map_location, source=filename)


SCHEMES = {
    '': load_from_local,
    ('http://', 'https://'): load_from_http,
    ('modelzoo://', 'torchvision://'): load_from_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_ceph,
}


def register() -> None:
    """Replace MMEngine's loaders by the safe ones (idempotent)."""
    for prefixes, loader in SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes, loader, force=True)
