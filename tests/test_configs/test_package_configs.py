"""The configs as a package: shipped in the wheel (and the development code not), inheritable as
``mmkd_plugin::...`` from a project of one's own, read as a local base is (docs/configs.md)."""
import glob
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from tests.fixtures.runner_utils import REPO

PRINT_CONFIG = osp.join(osp.dirname(__import__('mmdet').__file__), '.mim', 'tools', 'misc', 'print_config.py')
RUN_AFTER_IMPORT = ("import mmkd_plugin, runpy, sys; sys.argv = sys.argv[1:]; "
                    "runpy.run_path(sys.argv[0], run_name='__main__')")  # docs/configs.md's recipe


def user_config(tmp_path, base: str, body: str = '') -> str:
    path = tmp_path / 'project' / 'my_config.py'
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'_base_ = [{base!r}]\n{body}')
    return str(path)


def test_wheel_ships_every_config_and_no_development_code(tmp_path):
    src = tmp_path / 'src'
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'work_dirs', 'data', 'build', '*.egg-info', '__pycache__', 'images'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
                    '-w', str(tmp_path / 'dist'), str(src)], check=True, capture_output=True)
    wheel, = glob.glob(str(tmp_path / 'dist' / '*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)}
    assert configs and {'mmkd_plugin/.mim/' + c for c in configs} <= names
    # exactly the model configs: the benchmark suites and their configs (tools/benchmarks/suites/) stay out
    shipped = {n for n in names if n.startswith('mmkd_plugin/.mim/configs/') and n.endswith('.py')}
    assert shipped == {'mmkd_plugin/.mim/' + c for c in configs}
    assert not any('benchmarks' in n or 'suites' in n for n in names), sorted(n for n in names if 'bench' in n)
    assert 'mmkd_plugin/.mim/model-index.yml' in names
    top_level = {n.split('/')[0] for n in names}
    assert top_level == {'mmkd_plugin', 'mmkd_plugin-0.1.0.dist-info'}, top_level  # no devtools, tests, tools
    assert not any(n.startswith(('mmkd_plugin/testing/', 'mmkd_plugin/datasets/')) for n in names)


def test_a_project_config_inherits_a_plugin_config(tmp_path, synthetic_coco):
    data_root = synthetic_coco['data_root'].rstrip('/') + '/'
    config = user_config(tmp_path, 'mmkd_plugin::demo/cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py',
                         f"data_root = {data_root!r}\n"
                         "train_dataloader = dict(dataset=dict(data_root=data_root))\n")
    cfg = Config.fromfile(config)
    assert cfg.model.type == 'TeacherDistill' and cfg.model._scope_ == 'mmrazor'
    # Read as a local base: no `_scope_='mmkd_plugin'` stamped on the plugin's dicts.
    assert '_scope_' not in cfg.default_hooks.student_checkpoint
    assert cfg.train_dataloader.dataset.get('_scope_') in (None, 'mmdet')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        loader = Runner.build_dataloader(cfg.train_dataloader)
    assert type(loader.dataset).__name__ == 'CocoDataset' and len(loader.dataset) == synthetic_coco['num_train']


def test_a_missing_plugin_config_is_named(tmp_path):
    config = user_config(tmp_path, 'mmkd_plugin::acam_kd/no_such_config.py')
    with pytest.raises(FileNotFoundError, match=r'mmkd_plugin::acam_kd/no_such_config.py: no such config in .*configs'):
        Config.fromfile(config)


def test_stock_tools_read_plugin_bases_after_the_import(tmp_path):
    """mmdet's own print_config.py: without the plugin imported first MMEngine refuses the base; through
    the documented one-line recipe it reads it."""
    config = user_config(tmp_path, 'mmkd_plugin::acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py',
                         "model = dict(teacher_ckpt='my_teacher.pth')\n")
    plain = subprocess.run([sys.executable, PRINT_CONFIG, config], capture_output=True, text=True)
    assert plain.returncode != 0 and 'does not support to load mmkd_plugin config' in plain.stderr
    recipe = subprocess.run([sys.executable, '-c', RUN_AFTER_IMPORT, PRINT_CONFIG, config],
                            capture_output=True, text=True)
    assert recipe.returncode == 0, recipe.stderr[-2000:]
    assert "type='ACAMKDDistill'" in recipe.stdout and "teacher_ckpt='my_teacher.pth'" in recipe.stdout
