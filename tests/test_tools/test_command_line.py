"""The command-line tools end to end: train, resume, --amp, export, test (ours and mmdet's stock one)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmkd_devtools.testing import write_random_teacher
from tests.fixtures.runner_utils import CWD_CFG, REPO, STUDENT_CFG

KEEP_BOXES = 'model.architecture.test_cfg.score_thr=0.0'
MMDET_TEST = osp.join(osp.dirname(__import__('mmdet').__file__), '.mim', 'tools', 'test.py')


def _tool(cwd, *args):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _map(output):
    return [float(x) for x in re.findall(r'coco/bbox_mAP: (-?[0-9.]+)', output)]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory, synthetic_coco):
    """A folder laid out like the repo's: data/synthetic/coco and the demo teacher checkpoint."""
    ws = tmp_path_factory.mktemp('cli')
    os.makedirs(ws / 'data' / 'synthetic')
    os.symlink(synthetic_coco['data_root'], ws / 'data' / 'synthetic' / 'coco')
    teacher = Config.fromfile(CWD_CFG).model.teacher_ckpt
    os.makedirs(osp.dirname(ws / teacher))
    write_random_teacher(Config.fromfile(CWD_CFG).model, str(ws / teacher))
    return ws


@pytest.fixture(scope='module')
def trained(workspace):
    train = osp.join(REPO, 'tools', 'train.py')
    common = ['default_hooks.checkpoint.interval=1', KEEP_BOXES]
    _tool(workspace, train, CWD_CFG, '--work-dir', 'work_dirs/d',
          '--cfg-options', 'train_cfg.max_epochs=1', *common)
    out = _tool(workspace, train, CWD_CFG, '--work-dir', 'work_dirs/d', '--resume',
                '--cfg-options', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', *common)
    return out


def test_resume_continues_from_the_last_checkpoint(trained, workspace):
    assert 'resumed epoch: 1' in trained
    assert 'Epoch(train) [2]' in trained and 'Epoch(train) [1]' not in trained
    for name in ('epoch_1', 'epoch_2'):
        assert osp.isfile(workspace / 'work_dirs' / 'd' / f'{name}_student.pth')


def test_exported_student_evaluates_like_the_distillation_run(trained, workspace):
    distill_map = _map(trained)[-1]
    _tool(workspace, osp.join(REPO, 'tools', 'export_student.py'), 'work_dirs/d/epoch_2.pth',
          '--out', 'student.pth')
    ours = _tool(workspace, osp.join(REPO, 'tools', 'test.py'), STUDENT_CFG, 'student.pth',
                 '--work-dir', 'work_dirs/t', '--cfg-options', 'model.test_cfg.score_thr=0.0')
    assert _map(ours)[-1] == pytest.approx(distill_map)
    # mmdet's own tools/test.py (no mmkd_plugin import) loads the student checkpoint too.
    stock = _tool(workspace, MMDET_TEST, STUDENT_CFG, 'student.pth', '--work-dir', 'work_dirs/s',
                  '--cfg-options', 'model.test_cfg.score_thr=0.0')
    assert _map(stock)[-1] == pytest.approx(distill_map)


def test_amp_on_cpu_trains_in_bfloat16(workspace):
    probe = workspace / 'amp_probe.py'  # the demo config with a hook that logs an activation's dtype
    probe.write_text(f"_base_ = [{CWD_CFG!r}]\n"
                     "custom_imports = dict(imports=['mmkd_plugin', 'tests.fixtures.dtype_probe'])\n"
                     "custom_hooks = [dict(type='DtypeProbeHook')]\n")
    env = dict(os.environ, PYTHONWARNINGS='ignore', PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(probe), '--amp', '--work-dir', 'work_dirs/amp',
         '--cfg-options', 'train_cfg.max_epochs=1', KEEP_BOXES],
        cwd=workspace, env=env, capture_output=True, text=True)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'AutocastOptimWrapper' in out
    assert 'probe: student FPN activation dtype torch.bfloat16' in out, out[-3000:]
    losses = [float(x) for x in re.findall(r' loss: ([0-9.naif]+)', out)]
    assert losses and all(torch.isfinite(torch.tensor(x)) for x in losses)


def test_plain_detector_config_trains_through_the_same_tool(workspace):
    out = _tool(workspace, osp.join(REPO, 'tools', 'train.py'), STUDENT_CFG, '--work-dir',
                'work_dirs/plain', '--cfg-options', 'train_cfg.max_epochs=1')
    assert 'Epoch(train) [1]' in out
    assert osp.isfile(workspace / 'work_dirs' / 'plain' / 'epoch_1.pth')


def test_plain_segmentor_config_trains_and_tests(tmp_path, synthetic_cityscapes):
    os.makedirs(tmp_path / 'data' / 'synthetic')
    os.symlink(synthetic_cityscapes['data_root'], tmp_path / 'data' / 'synthetic' / 'cityscapes')
    config = osp.join(REPO, 'configs', 'demo', 'deeplabv3_r18-w16_synthetic-cityscapes.py')
    out = _tool(tmp_path, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', 'w',
                '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4')
    assert 'Saving checkpoint at 4 iterations' in out, out[-2000:]
    tested = _tool(tmp_path, osp.join(REPO, 'tools', 'test.py'), config, 'w/iter_4.pth')
    assert re.search(r'mIoU: [0-9.]+', tested)


def test_dist_train_script_runs_two_processes_on_gloo(workspace):
    """tools/dist_train.sh (torchrun) on a machine without GPU: 2 processes, gloo, real Runner DDP."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONWARNINGS='ignore', PORT=str(port),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    result = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), CWD_CFG, '2', '--work-dir', 'work_dirs/ddp',
         '--cfg-options', 'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1', KEEP_BOXES],
        cwd=workspace, env=env, capture_output=True, text=True)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert 'Distributed training: True' in out and 'GPU number: 2' in out, out[-3000:]
    # 8 training images, 4 per process and step, 2 processes: one step per epoch.
    assert re.search(r'Epoch\(train\) +\[1\]\[1/1\]', out), out[-3000:]
    assert osp.isfile(workspace / 'work_dirs' / 'ddp' / 'epoch_1_student.pth')


def test_exported_student_config_deploys_with_the_stock_apis(trained, workspace):
    """The exported *_student.py loads with mmdet's init_detector (no mmkd_plugin import needed) and
    infers on a generated image; the student's overrides (3 classes) are in it."""
    config = workspace / 'work_dirs' / 'd' / 'epoch_2_student.py'
    assert config.is_file()
    text = config.read_text()
    assert 'mmkd_plugin' not in text and 'teacher' not in text
    assert 'StudentCheckpointHook' not in text and 'StudentViewHook' not in text  # plugin default_hooks left out
    assert 'DistillRunner' not in text  # the stock packages build MMEngine's Runner
    code = (
        'import sys, cv2, numpy as np\n'
        'from mmdet.apis import init_detector, inference_detector\n'
        f'model = init_detector({str(config)!r}, {str(workspace / "work_dirs" / "d" / "epoch_2_student.pth")!r},'
        ' device="cpu")\n'
        'assert "mmkd_plugin" not in sys.modules\n'
        'assert model.bbox_head.num_classes == 3, model.bbox_head.num_classes\n'
        'img = np.full((128, 128, 3), 120, np.uint8); cv2.rectangle(img, (20, 20), (60, 60), (40, 40, 210), -1)\n'
        'result = inference_detector(model, img)\n'
        'print("boxes", len(result.pred_instances.bboxes), model.dataset_meta["classes"])\n')
    out = _tool(workspace, '-c', code)
    assert re.search(r"boxes \d+ \('square', 'disk', 'triangle'\)", out), out[-2000:]


def test_tools_read_a_package_config():
    """`tools/train.py mmdet::...` (how the full-scale suites train their students) reads the installed config."""
    import argparse
    from mmkd_plugin.tools_common import load_config
    args = argparse.Namespace(config='mmdet::retinanet/retinanet_r50_fpn_2x_coco.py', local_rank=0,
                              launcher='none', cfg_options={'train_cfg.max_epochs': 3}, work_dir=None)
    cfg = load_config(args)
    assert cfg.model.type == 'RetinaNet' and cfg.train_cfg.max_epochs == 3
    assert cfg.work_dir == osp.join('./work_dirs', 'retinanet_r50_fpn_2x_coco')


@pytest.mark.parametrize('config, data', [
    ('tools/benchmarks/suites/tiny_coco/hard-affine_acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
     'train_dataloader.dataset.data_root={coco}/'),
    ('tools/benchmarks/suites/tiny_cityscapes/hard-affine_acam-kd_logits_deeplabv3-r18_deeplabv3-r18-w16_synthetic-cityscapes.py',  # noqa: E501
     'train_dataloader.dataset.data_root={cityscapes}/')], ids=['coco', 'cityscapes'])
def test_hard_augmentations_picture(tmp_path, synthetic_coco, synthetic_cityscapes, config, data):
    """Clean | augmented pairs, one row per image, drawn by mmdet's / mmseg's visualizer."""
    import mmcv
    out = tmp_path / 'grid.png'
    option = data.format(coco=synthetic_coco['data_root'].rstrip('/'),
                         cityscapes=synthetic_cityscapes['data_root'].rstrip('/'))
    _tool(REPO, osp.join(REPO, 'tools', 'visualize_hard_augmentations.py'), osp.join(REPO, config),
          '--num-images', '3', '--out', str(out), '--cfg-options', option,
          'model.augmentor.init_std=1.0')  # visible transforms without a trained augmentor
    grid = mmcv.imread(str(out))
    image_h, image_w = (128, 128) if 'coco' in config else (128, 256)
    assert grid.shape[:2] == (3 * image_h, 2 * image_w)
    left, right = grid[:, :image_w].astype(int), grid[:, image_w:].astype(int)
    assert abs(left - right).mean() > 5  # the right column is warped
