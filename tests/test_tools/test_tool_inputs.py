"""The command-line tools given wrong paths and settings: one line naming the argument or key and the fix,
before anything is built; and the tools that used to do the wrong thing silently (masks of a random teacher,
random weights evaluated, a --cfg-options variable ignored). The inventory: docs/bad_inputs.md,
"Command-line tools".
"""
import builtins
import functools
import glob
import importlib.util
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from mmkd_devtools.testing import write_random_teacher
from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
from mmkd_plugin.engine.hooks.checkpoint_fit_hook import fit_checkpoint
from mmkd_plugin.tools_common import read_config
from mmkd_plugin.tool_paths import check_config_paths
from tests.fixtures.runner_utils import CWD_CFG, REPO, STUDENT_CFG, TEACHER_CFG, run, runner_cfg

ACAM_CFG = osp.join(REPO, 'configs', 'demo', 'acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')
SUITE = osp.join(REPO, 'tools', 'benchmarks', 'suites', 'tiny_coco.py')


@functools.lru_cache(maxsize=None)
def tool(name: str):
    """tools/<name> as a module (its ``main(argv)`` runs in this process)."""
    path = osp.join(REPO, 'tools', name)
    if osp.dirname(name) == 'benchmarks' and osp.dirname(path) not in sys.path:
        sys.path.insert(0, osp.dirname(path))  # their sibling modules
    spec = importlib.util.spec_from_file_location('tool_' + re.sub(r'\W', '_', name), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(name: str, argv, monkeypatch=None):
    """``main(argv)`` of a tool; tools/benchmarks/distill_overhead.py reads ``sys.argv`` itself."""
    module = tool(name)
    if name == 'benchmarks/distill_overhead.py':
        monkeypatch.setattr(sys, 'argv', [name, *argv])
        return module.main()
    return module.main(argv)


@pytest.fixture
def paths(tmp_path):
    """Real files of every kind, and the wrong ones, in ``tmp_path``."""
    ckpt = tmp_path / 'ok.pth'
    torch.save(dict(state_dict={'w': torch.zeros(3)}), ckpt)
    data = ckpt.read_bytes()
    (tmp_path / 'truncated.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'folder').mkdir()
    torch.save({}, tmp_path / 'folder' / 'epoch_1.pth')
    (tmp_path / 'file').write_text('not a folder')
    image = tmp_path / 'image.png'
    cv2.imwrite(str(image), np.full((32, 32, 3), 127, np.uint8))
    (tmp_path / 'not_an_image.png').write_text('text')
    names = dict(cfg=CWD_CFG, ckpt=ckpt, img=image, dir=tmp_path / 'folder', file=tmp_path / 'file',
                 missing=tmp_path / 'missing.pth', trunc=tmp_path / 'truncated.pth', suite=SUITE,
                 notimg=tmp_path / 'not_an_image.png', tmp=tmp_path)
    return {k: str(v) for k, v in names.items()}


@pytest.fixture
def unreadable(monkeypatch):
    """``unreadable(path)``: opening ``path`` raises PermissionError (as for another user's file; the tests
    run as root, to whom chmod 000 changes nothing)."""
    blocked = set()
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and osp.abspath(file) in blocked:
            raise PermissionError(13, 'Permission denied', str(file))
        return real_open(file, *args, **kwargs)

    real_listdir = os.listdir

    def fake_listdir(path='.'):
        if osp.abspath(path) in blocked:
            raise PermissionError(13, 'Permission denied', str(path))
        return real_listdir(path)

    monkeypatch.setattr(builtins, 'open', fake_open)
    monkeypatch.setattr(os, 'listdir', fake_listdir)
    return lambda path: blocked.add(osp.abspath(path))


# (tool, argv, the argument named, what the message says); {name}s are the `paths` fixture's.
ARGUMENT_CASES = [
    ('train.py', ['{missing}'], 'config', 'does not exist'),
    ('train.py', ['{dir}'], 'config', 'is a folder, not a config file'),
    ('train.py', ['{ckpt}'], 'config', 'the config comes first, then the checkpoint'),
    ('train.py', ['{cfg}', '--resume', '{missing}'], '--resume', 'does not exist'),
    ('train.py', ['{cfg}', '--resume', '{dir}'], '--resume', 'folder/epoch_1.pth'),
    ('train.py', ['{cfg}', '--resume', '{trunc}'], '--resume', 'truncated or not a checkpoint: re-download'),
    ('train.py', ['{cfg}', '--work-dir', '{file}'], '--work-dir', 'is a file: give a folder'),
    ('test.py', ['{cfg}', '{missing}'], 'checkpoint', 'does not exist'),
    ('test.py', ['{cfg}', '{dir}'], 'checkpoint', 'is a folder, not a checkpoint file'),
    ('test.py', ['{cfg}', '{trunc}'], 'checkpoint', 'truncated or not a checkpoint'),
    ('test.py', ['{ckpt}', '{cfg}'], 'config', 'the config comes first'),
    ('test.py', ['{cfg}', '{ckpt}', '--out', '{dir}'], '--out', 'is a folder: give a file name'),
    ('test.py', ['{cfg}', '{ckpt}', '--out', '{tmp}/r.json'], '--out', 'must end with .pkl'),
    ('test.py', ['{cfg}', '{ckpt}', '--work-dir', '{file}/w'], '--work-dir', 'file is a file, not a folder'),
    ('export_student.py', ['{missing}'], 'checkpoint', 'does not exist'),
    ('export_student.py', ['{cfg}'], 'checkpoint', 'is a config, not a checkpoint'),
    ('export_student.py', ['{trunc}'], 'checkpoint', 'truncated or not a checkpoint'),
    ('export_student.py', ['{ckpt}'], 'checkpoint', 'not a distillation checkpoint'),
    ('export_student.py', ['{ckpt}', '--out', '{dir}'], '--out', 'is a folder'),
    ('export_student.py', ['{ckpt}', '--out', '{file}/s.pth'], '--out', 'is a file, not a folder'),
    ('check_config.py', ['{missing}'], 'config', 'does not exist'),
    ('check_config.py', ['{dir}'], 'config', 'is a folder'),
    ('visualize_acam_masks.py', ['{missing}', '{ckpt}', '{img}'], 'config', 'does not exist'),
    ('visualize_acam_masks.py', ['{cfg}', '{dir}', '{img}'], 'checkpoint', 'is a folder'),
    ('visualize_acam_masks.py', ['{cfg}', '{trunc}', '{img}'], 'checkpoint', 'truncated'),
    ('visualize_acam_masks.py', ['{cfg}', '{ckpt}', '{missing}'], 'image', 'does not exist'),
    ('visualize_acam_masks.py', ['{cfg}', '{ckpt}', '{dir}'], 'image', 'is a folder, not an image file'),
    ('visualize_acam_masks.py', ['{cfg}', '{ckpt}', '{notimg}'], 'image', 'not an image OpenCV can decode'),
    ('visualize_acam_masks.py', ['{cfg}', '{ckpt}', '{img}', '--out-dir', '{file}'], '--out-dir', 'is a file'),
    ('teacher_cmi.py', ['{missing}', '{ckpt}'], 'config', 'does not exist'),
    ('teacher_cmi.py', ['{cfg}', '{ckpt}', '{missing}'], 'checkpoints', 'missing.pth does not exist'),
    ('teacher_cmi.py', ['{cfg}', '{trunc}'], 'checkpoints', 'truncated'),
    ('teacher_cmi.py', ['{cfg}', '{ckpt}', '--out', '{dir}'], '--out', 'is a folder'),
    ('visualize_hard_augmentations.py', ['{missing}'], 'config', 'does not exist'),
    ('visualize_hard_augmentations.py', ['{cfg}', '--checkpoint', '{dir}'], '--checkpoint', 'is a folder'),
    ('visualize_hard_augmentations.py', ['{cfg}', '--checkpoint', '{trunc}'], '--checkpoint', 'truncated'),
    ('visualize_hard_augmentations.py', ['{cfg}', '--out', '{dir}'], '--out', 'is a folder'),
    ('generate_data.py', ['coco', '--out-dir', '{file}'], '--out-dir', 'is a file'),
    ('benchmarks/accuracy.py', ['{missing}'], 'suite', 'does not exist'),
    ('benchmarks/distill_overhead.py', ['{missing}'], 'configs', 'does not exist'),
    ('benchmarks/acam_mask_stats.py', ['{missing}'], 'work_dir', 'does not exist'),
    ('benchmarks/acam_mask_stats.py', ['{file}'], 'work_dir', 'is a file, not a folder'),
    ('benchmarks/acam_mask_stats.py', ['{dir}', '--out', '{dir}'], '--out', 'is a folder'),
]


@pytest.mark.parametrize('name, argv, argument, says', ARGUMENT_CASES,
                         ids=[f'{c[0]}-{c[2]}-{i}' for i, c in enumerate(ARGUMENT_CASES)])
def test_a_wrong_path_argument_stops_with_one_line(name, argv, argument, says, paths, capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        call(name, [a.format(**paths) for a in argv], monkeypatch)
    assert stop.value.code == 2  # argparse's usage error: nothing was built
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f'error: argument {argument}: ' in line and says in line, line


UNREADABLE_CASES = [
    ('train.py', ['{cfg}'], 'config', '{cfg}'),
    ('train.py', ['{cfg}', '--resume', '{ckpt}'], '--resume', '{ckpt}'),
    ('test.py', ['{cfg}', '{ckpt}'], 'checkpoint', '{ckpt}'),
    ('export_student.py', ['{ckpt}'], 'checkpoint', '{ckpt}'),
    ('visualize_acam_masks.py', ['{cfg}', '{ckpt}', '{img}'], 'image', '{img}'),
    ('teacher_cmi.py', ['{cfg}', '{ckpt}'], 'checkpoints', '{ckpt}'),
    ('benchmarks/acam_mask_stats.py', ['{dir}'], 'work_dir', '{dir}'),
]


@pytest.mark.parametrize('name, argv, argument, blocked', UNREADABLE_CASES,
                         ids=[f'{c[0]}-{c[2]}' for c in UNREADABLE_CASES])
def test_an_unreadable_path_argument_stops_with_one_line(name, argv, argument, blocked, paths, capsys, monkeypatch,
                                                         unreadable):
    unreadable(blocked.format(**paths))
    with pytest.raises(SystemExit) as stop:
        call(name, [a.format(**paths) for a in argv], monkeypatch)
    assert stop.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f'error: argument {argument}: ' in line, line
    assert 'cannot be read (Permission denied): check its permissions' in line, line


# --- config keys set by hand (README's "Writing a distillation config") ------------------------------------

@pytest.mark.parametrize('key, value, says', [
    ('model.teacher_ckpt', '{dir}', 'is a folder, not a checkpoint file'),
    ('model.teacher_ckpt', '{trunc}', 'truncated or not a checkpoint'),
    ('model.teacher.cfg_path', '{missing}', 'does not exist'),
    ('model.teacher.cfg_path', '{dir}', 'is a folder, not a config file'),
    ('load_from', '{missing}', 'does not exist'),
    ('load_from', '{dir}', 'is a folder'),
    ('load_from', '{trunc}', 'truncated or not a checkpoint'),
    ('train_dataloader.dataset.data_root', '{missing}', 'does not exist'),
    ('test_dataloader.dataset.data_root', '{file}', 'is a file, not a folder'),
])
def test_a_wrong_path_in_a_config_key_stops_with_one_line(key, value, says, paths, synthetic_coco):
    cfg = Config.fromfile(CWD_CFG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = synthetic_coco['data_root']
    cfg.model.teacher_ckpt = paths['ckpt']
    cfg.merge_from_dict({key: value.format(**paths)})
    with pytest.raises(SystemExit, match=f'^config key {re.escape(key)}: .*{says}.*--cfg-options {key}='):
        check_config_paths(cfg)


def test_train_and_test_check_config_keys_before_building(paths, monkeypatch, unreadable):
    unreadable(paths['ckpt'])
    checkpoint = osp.join(paths['dir'], 'epoch_1.pth')
    for name, argv in (('train.py', [CWD_CFG]), ('test.py', [CWD_CFG, checkpoint])):
        with pytest.raises(SystemExit, match='^config key model.teacher_ckpt: .*cannot be read'):
            call(name, argv + ['--cfg-options', f'model.teacher_ckpt={paths["ckpt"]}'], monkeypatch)
    # tools/test.py needs the test set only: a missing training set is no error there
    cfg = Config.fromfile(CWD_CFG)
    cfg.model.teacher_ckpt = checkpoint
    cfg.train_dataloader.dataset.data_root = paths['missing']
    cfg.test_dataloader.dataset.data_root = paths['dir']
    check_config_paths(cfg, dataloaders=('test_dataloader',))
    with pytest.raises(SystemExit, match='^config key train_dataloader.dataset.data_root: '):
        check_config_paths(cfg)


# --- --cfg-options on a config variable -------------------------------------------------------------------

@pytest.mark.parametrize('options, instead', [
    ({'teacher_ckpt': 'new.pth'}, ['model.teacher_ckpt=new.pth']),
    ({'teacher_cfg': 't.py'}, ['model.teacher.cfg_path=t.py']),
    ({'data_root': 'd/'}, [f'{k}_dataloader.dataset.data_root=d/' for k in ('train', 'val', 'test')]),
    ({'train_pipeline.2.scale': (64, 64)}, ['train_dataloader.dataset.pipeline.2.scale=(64,64)']),
], ids=['teacher_ckpt', 'teacher_cfg', 'data_root', 'dotted'])
def test_a_cfg_option_on_a_config_variable_names_the_keys_to_set(options, instead):
    with pytest.raises(SystemExit) as stop:
        read_config(CWD_CFG, options)
    assert 'is a variable of the config file' in stop.value.code, stop.value.code
    assert stop.value.code.split('--cfg-options ')[-1].split(' (values')[0].split() == instead


def test_cfg_options_on_runner_keys_and_copies_set_too_are_merged():
    options = {'load_from': 'a.pth', 'work_dir': 'w', 'train_cfg.max_epochs': 3, 'resume': True,
               'default_hooks.checkpoint.interval': 1, 'teacher_ckpt': 'b.pth', 'model.teacher_ckpt': 'b.pth',
               'val_dataloader.batch_size': 2}
    cfg = read_config(CWD_CFG, options)
    assert cfg.model.teacher_ckpt == 'b.pth' and cfg.train_cfg.max_epochs == 3 and cfg.load_from == 'a.pth'


# --- truncated checkpoints, through the loader every path uses ----------------------------------------------

@pytest.mark.parametrize('cut', ['half', 'head', 'legacy', 'empty', 'text'])
def test_a_truncated_checkpoint_names_the_file(tmp_path, cut):
    path = tmp_path / 'c.pth'
    torch.save(dict(state_dict={'w': torch.zeros(100)}), path, _use_new_zipfile_serialization=cut != 'legacy')
    data = path.read_bytes()
    path.write_bytes(dict(half=data[:len(data) // 2], head=data[:10], legacy=data[:len(data) - 10], empty=b'',
                          text=b'hello')[cut])
    with pytest.raises(RuntimeError, match=f'^{re.escape(str(path))}: truncated or not a checkpoint .*: '
                                           're-download or re-export it.$'):
        CheckpointLoader.load_checkpoint(str(path))
    url = 'https://example.org/c.pth'  # a download in the torch hub cache: the URL and the cached file
    with pytest.raises(RuntimeError, match=f'^{re.escape(url)} \\(the file {re.escape(str(path))}\\): truncated'):
        safe_torch_load(str(path), source=url)


def test_a_truncated_teacher_checkpoint_names_the_file_at_build(tmp_path):
    from mmrazor.registry import MODELS
    model_cfg = Config.fromfile(CWD_CFG).model
    path = write_random_teacher(model_cfg, str(tmp_path / 'teacher.pth'))
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    model_cfg.teacher_ckpt = path
    with pytest.raises(RuntimeError, match=f'{re.escape(path)}: truncated or not a checkpoint'):
        MODELS.build(model_cfg)


# --- a real distillation run: tools/test.py, tools/export_student.py -----------------------------------------

@pytest.fixture(scope='module')
def cwd_run(tmp_path_factory, synthetic_coco):
    """One epoch of the demo CWD config; its checkpoint, work dir and the student's final bbox mAP."""
    tmp = tmp_path_factory.mktemp('tool_inputs_cwd')
    cfg = runner_cfg(CWD_CFG, str(tmp / 'work'), synthetic_coco['data_root'], 1)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp / 'teacher.pth'))
    cfg.model.architecture.test_cfg.score_thr = 0.0  # an untrained student's boxes still make an mAP
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    runner = run(cfg)
    metrics = runner.val_loop.run()
    return dict(ckpt=str(tmp / 'work' / 'epoch_1.pth'), teacher=cfg.model.teacher_ckpt, work=str(tmp),
                mAP=metrics['coco/bbox_mAP'])


def test_tools_test_evaluates_the_student_of_a_distillation_checkpoint(cwd_run, synthetic_coco, tmp_path):
    """The student's own config with the run's checkpoint: its architecture.* weights, the run's mAP. The
    teacher's config with it: refused, nothing evaluated."""
    os.makedirs(tmp_path / 'data' / 'synthetic')
    os.symlink(synthetic_coco['data_root'], tmp_path / 'data' / 'synthetic' / 'coco')

    def test_tool(config):
        result = subprocess.run(
            [sys.executable, osp.join(REPO, 'tools', 'test.py'), config, cwd_run['ckpt'], '--work-dir', 'w',
             '--cfg-options', 'model.test_cfg.score_thr=0.0'],
            cwd=tmp_path, env=dict(os.environ, PYTHONWARNINGS='ignore'), capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    code, out = test_tool(STUDENT_CFG)
    assert code == 0, out[-3000:]
    assert 'is a distillation checkpoint: evaluating its student' in out
    assert 'unexpected key in source state_dict' not in out and 'missing keys in source' not in out, out[-3000:]
    assert float(re.findall(r'coco/bbox_mAP: (-?[0-9.]+)', out)[-1]) == pytest.approx(cwd_run['mAP'], abs=1e-3)
    code, out = test_tool(TEACHER_CFG)
    assert code == 1 and 'model tensors unloaded' in out.strip().splitlines()[-1], out[-3000:]
    assert 'bbox_mAP' not in out


@pytest.mark.parametrize('config, checkpoint', [(STUDENT_CFG, 'teacher'), (TEACHER_CFG, 'ckpt')],
                         ids=['teacher-weights-for-the-student', 'student-weights-for-the-teacher'])
def test_tools_test_refuses_a_checkpoint_that_leaves_tensors_unloaded(cwd_run, config, checkpoint):
    """Real models and checkpoints: R18 weights for the quarter-width student, and the reverse."""
    from mmengine.registry import DefaultScope, MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(Config.fromfile(config).model)
    loaded = CheckpointLoader.load_checkpoint(cwd_run[checkpoint], map_location='cpu')
    with pytest.raises(SystemExit, match=r'leaves \d+ of \d+ model tensors unloaded \(missing or of another shape: '
                                         r'backbone\.conv1\.weight, .* and \d+ more\).*random weights'):
        fit_checkpoint(model, loaded, cwd_run[checkpoint])


def test_train_resume_refusals_are_one_line_for_any_run(cwd_run, synthetic_coco, tmp_path, monkeypatch):
    """tools/train.py --resume: a weights-only checkpoint (state_dict + meta, as model zoos publish them) is
    refused for a plain run too, before anything is built; the run's student export is refused for the
    distillation run with what to resume from instead. Both as SystemExit (a line, no stack trace). Run where
    the config's relative data_root exists, as a user's would (its path check comes first)."""
    os.makedirs(tmp_path / 'data' / 'synthetic')
    os.symlink(synthetic_coco['data_root'], tmp_path / 'data' / 'synthetic' / 'coco')
    monkeypatch.chdir(tmp_path)
    from mmkd_plugin.compat.safe_checkpoint import safe_torch_load
    full = safe_torch_load(cwd_run['ckpt'], map_location='cpu')
    weights_only = tmp_path / 'published.pth'
    torch.save(dict(state_dict=full['state_dict'], meta=full['meta']), weights_only)
    built = []
    monkeypatch.setattr(tool('train.py').Runner, 'from_cfg', lambda cfg: built.append(cfg))
    with pytest.raises(SystemExit, match=r'^error: --resume .*published\.pth: it holds weights only .*use '
                                         r'load_from=.*published\.pth .*without --resume\.$'):
        call('train.py', [STUDENT_CFG, '--resume', str(weights_only), '--work-dir', str(tmp_path / 'w')])
    assert not built
    student_export = cwd_run['ckpt'].replace('.pth', '_student.pth')
    from mmkd_plugin.engine.runner.resume_check import ResumeRefused, check_resumable
    with pytest.raises(ResumeRefused, match=r'student-only export .* \(the same name without _student\).*load_from='):
        check_resumable(safe_torch_load(student_export, map_location='cpu'), student_export)


def test_export_student_creates_the_output_folder(cwd_run, tmp_path):
    out = tmp_path / 'new' / 'deeper' / 'student.pth'
    call('export_student.py', [cwd_run['ckpt'], '--out', str(out)])
    assert out.is_file() and (tmp_path / 'new' / 'deeper' / 'student.py').is_file()


# --- ACAM-KD masks of a run -------------------------------------------------------------------------------

def test_acam_masks_are_the_runs_own(tmp_path, synthetic_coco, monkeypatch, capsys):
    """The tool's masks are those ACAMKDMaskVisualizerHook drew at the end of training (same image, the run's
    weights: its teacher, not the config's teacher_ckpt, which does not exist here), written next to the
    checkpoint by default."""
    from mmkd_plugin.visualization import load_image, spatial_masks
    cfg = runner_cfg(ACAM_CFG, str(tmp_path / 'run'), synthetic_coco['data_root'], 1)
    cfg.model.teacher_ckpt = write_random_teacher(cfg.model, str(tmp_path / 'teacher.pth'))
    cfg.train_dataloader.batch_size = 4
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    image = cfg.default_hooks.acam_kd_mask_pictures.image
    runner = run(cfg)
    hook_masks, _ = spatial_masks(runner.model.eval(), load_image(cfg.test_dataloader.dataset.pipeline, image))

    monkeypatch.chdir(tmp_path)
    visualize = tool('visualize_acam_masks.py')
    masks, _, _ = visualize.acam_masks(read_config(ACAM_CFG), str(tmp_path / 'run' / 'epoch_1.pth'), image)
    assert masks.keys() == hook_masks.keys() and len(masks) == 5
    for level, mask in masks.items():
        torch.testing.assert_close(mask, hook_masks[level], atol=1e-5, rtol=0, msg=level)

    call('visualize_acam_masks.py', [ACAM_CFG, str(tmp_path / 'run' / 'epoch_1.pth'), image])
    out_dir = tmp_path / 'run' / 'acam_masks' / 'epoch_1'
    assert f'written to {out_dir}' in capsys.readouterr().out
    assert not (tmp_path / 'acam_masks').exists()
    step = runner.iter
    for level in masks:
        ours = cv2.imread(str(out_dir / f'{level}.png')).astype(int)
        hook, = glob.glob(str(tmp_path / 'run' / '*' / 'vis_data' / 'vis_image' / f'acam_masks_{level}_{step}.png'))
        assert np.abs(ours - cv2.imread(hook).astype(int)).max() <= 1, level


def test_check_config_says_what_it_does_with_a_teacher_ckpt_it_cannot_load(tmp_path):
    """A placeholder or missing teacher_ckpt, or a URL, is named (the step then runs a random teacher)."""
    note = tool('check_config.py').teacher_note
    cfg = read_config(ACAM_CFG)
    cfg.model.teacher_ckpt = 'TEACHER_CHECKPOINT.pth'
    assert re.search(r'TEACHER_CHECKPOINT.pth does not exist: .*random weights.*model.teacher_ckpt=PATH', note(cfg))
    cfg.model.teacher_ckpt = 'https://download.openmmlab.com/x.pth'
    assert 'is not downloaded by this check' in note(cfg)
    (tmp_path / 't.pth').write_bytes(b'')
    cfg.model.teacher_ckpt = str(tmp_path / 't.pth')
    assert note(cfg) is None
