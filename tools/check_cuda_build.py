"""Check an mmcv build for CUDA: its ops compiled with CUDA kernels, torchvision beside it, mmdet configs build.

    python tools/check_cuda_build.py

Runs without a GPU (the kernels are compiled in but not launched): mmcv's compiler and CUDA versions,
the architectures the extension holds code for (``cuobjdump`` where the toolkit has it), torchvision's
``nms`` against torch, and a stock mmdet config with a ``torchvision://`` backbone built with that
``init_cfg`` cleared (no download). Exits 1 naming what failed.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore')
import glob
import json
import os.path as osp
import shutil
import subprocess
import sys


def _triton_cuobjdump():
    """The ``cuobjdump`` a pip CUDA torch brings with triton, for toolkits that lack one (or None)."""
    try:
        import triton
    except ImportError:
        return None
    path = osp.join(osp.dirname(triton.__file__), 'backends', 'nvidia', 'bin', 'cuobjdump')
    return path if osp.isfile(path) else None


def _gpu_arch(report: dict, boxes) -> list:
    """The GPU's architecture against the ones mmcv's ``_ext`` was compiled for, and one mmcv op launched on it.

    A wheel built for other architectures (and no PTX) imports, then stops at the first op with "no kernel
    image is available"; the failure names the ``TORCH_CUDA_ARCH_LIST`` to rebuild with.
    """
    import torch
    from mmcv.ops import nms
    major, minor = torch.cuda.get_device_capability()
    report['gpu'] = torch.cuda.get_device_name()
    report['gpu_sm'] = f'sm_{major}{minor}'
    fix = (f'rebuild mmcv for it: TORCH_CUDA_ARCH_LIST="{major}.{minor}" make install-cuda '
           '(docs/install.md), or install a wheel built for this GPU')
    failures = []
    if report.get('mmcv_sm') and report['gpu_sm'] not in report['mmcv_sm']:
        failures.append(f"this GPU is {report['gpu_sm']} ({report['gpu']}); mmcv's _ext holds code for "
                        f"{', '.join(report['mmcv_sm'])} only: {fix}")
    try:
        _, keep = nms(boxes.to('cuda'), torch.tensor([0.9, 0.8, 0.7], device='cuda'), 0.5)
        report['mmcv_nms_cuda'] = keep.cpu().tolist()
        if report['mmcv_nms_cuda'] != [0, 2]:
            failures.append(f"mmcv.ops.nms on {report['gpu_sm']} gave {report['mmcv_nms_cuda']}, expected [0, 2]")
    except RuntimeError as e:
        failures.append(f"mmcv.ops.nms does not run on {report['gpu_sm']}: {str(e).splitlines()[0]}; {fix}")
    return failures


def main():
    import torch
    import torchvision
    from mmcv.ops import get_compiler_version, get_compiling_cuda_version
    import mmcv
    report = dict(torch=torch.__version__, torch_cuda=torch.version.cuda, torchvision=torchvision.__version__,
                  mmcv=mmcv.__version__, mmcv_compiler=get_compiler_version(),
                  mmcv_cuda=get_compiling_cuda_version())
    failures = []
    if report['mmcv_cuda'] in (None, '', 'not available'):
        failures.append('mmcv.ops was compiled without CUDA (get_compiling_cuda_version: not available)')
    ext = glob.glob(osp.join(osp.dirname(mmcv.__file__), '_ext*.so'))[0]
    report['mmcv_ext_mb'] = round(osp.getsize(ext) / 2 ** 20, 1)
    cuobjdump = shutil.which('cuobjdump') or _triton_cuobjdump()
    if cuobjdump:
        listing = subprocess.run([cuobjdump, '--list-elf', ext], capture_output=True, text=True).stdout
        cubins = [part for part in listing.replace('.', ' ').split() if part.startswith('sm_')]
        report['mmcv_sm'] = sorted(set(cubins))
        report['mmcv_cubins'] = len(cubins)
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    if torch.cuda.is_available():
        failures += _gpu_arch(report, boxes)
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    report['torchvision_nms'] = keep.tolist()
    if keep.tolist() != [0, 2]:
        failures.append(f'torchvision.ops.nms gave {keep.tolist()}, expected [0, 2]')
    import mmkd_plugin  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(osp.dirname(__import__('mmdet').__file__), '.mim', 'configs', 'retinanet',
                                   'retinanet_r50_fpn_1x_coco.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    from mmengine.runner.checkpoint import get_torchvision_models
    report['torchvision_models_known'] = 'resnet50' in get_torchvision_models()
    cfg.model.backbone.init_cfg = None  # the weights are overridden offline
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        model.init_weights()
    report['retinanet_r50_parameters'] = sum(p.numel() for p in model.parameters())
    print(json.dumps(report, indent=1))
    if failures:
        print('\n'.join(failures), file=sys.stderr)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
