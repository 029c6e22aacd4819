"""tools/benchmarks/accuracy.py end to end on a 2-variant, 1-seed suite of a few iterations.

The teacher is trained first by the tool, the student alone and a CWD variant run two at a time, a
variant with a wrong recorder fails without stopping the others; then a rerun skips what finished and
resumes a run cut after its first epoch.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.fixtures.runner_utils import CWD_CFG, REPO, STUDENT_CFG, TEACHER_CFG

TOOL = osp.join(REPO, 'tools', 'benchmarks', 'accuracy.py')
MCMI_CFG = 'tools/benchmarks/suites/tiny_coco/mcmi_retinanet-r18_synthetic-coco.py'


def _suite(path, data_root):
    data_root = data_root.rstrip('/') + '/'
    options = [f'{k}_dataloader.dataset.data_root={data_root}' for k in ('train', 'val', 'test')]
    options += [f'{k}_evaluator.ann_file={data_root}annotations/instances_val.json' for k in ('val', 'test')]
    options += ['train_dataloader.batch_size=4']
    text = f'''
metric = 'coco/bbox_mAP'
teacher = dict(config={osp.relpath(TEACHER_CFG, REPO)!r}, checkpoint=None,
               options=['train_cfg.max_epochs=1'])
student = dict(config={osp.relpath(STUDENT_CFG, REPO)!r}, label='student alone',
               options=['model.test_cfg.score_thr=0.0'])
data_options = {options!r}
train_options = ['train_cfg.max_epochs=2', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1']
test_options = ['model.test_cfg.score_thr=0.0']  # every box counts: a tiny run's mAP is not 0
variants = dict(
    cwd=dict(config={osp.relpath(CWD_CFG, REPO)!r}, label='CWD', peer=True,
             options=['model.architecture.test_cfg.score_thr=0.0']),
    cwd_ft=dict(config={osp.relpath(CWD_CFG, REPO)!r}, label='CWD from a fine-tuned teacher',
                options=['model.architecture.test_cfg.score_thr=0.0'],
                teacher_stage=dict(name='mcmi', config={MCMI_CFG!r}, options=['train_cfg.max_epochs=1'])),
    broken=dict(config={osp.relpath(CWD_CFG, REPO)!r}, label='a wrong recorder',
                options=['model.distiller.student_recorders.fpn.source=nekc']),
)
launcher = dict(hours_per_run=0.5)
'''
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def _accuracy(*args):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run([sys.executable, TOOL, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def first_run(tmp_path_factory, synthetic_coco):
    root = tmp_path_factory.mktemp('accuracy')
    suite = _suite(root / 'suite.py', synthetic_coco['data_root'])
    work_dir = str(root / 'bench')
    out = _accuracy(suite, '--seeds', '1', '--work-dir', work_dir, '--jobs', '2')
    with open(osp.join(work_dir, 'results.json')) as f:
        return suite, work_dir, out, json.load(f)


def test_tables_json_and_plot(first_run):
    _, work_dir, out, results = first_run
    rows = {r['name']: r for r in results['rows']}
    assert list(rows) == ['student', 'cwd', 'cwd_ft', 'broken']
    for name in ('student', 'cwd', 'cwd_ft'):
        value = rows[name]['per_seed'][0]
        assert 0.0 <= value <= 1.0 and rows[name]['mean'] == value and rows[name]['std'] == 0.0
        with open(osp.join(work_dir, name, 'seed_0', 'metrics.json')) as f:
            assert json.load(f)['value'] == value  # the value tools/test.py logged for that run
    assert rows['cwd']['gain'] == pytest.approx(rows['cwd']['mean'] - rows['student']['mean'])
    # The failure is reported with its cause; the other variants went on.
    assert rows['broken']['n'] == 0 and "'nekc'" in rows['broken']['errors'][0]
    table = open(osp.join(work_dir, 'results.md')).read()
    assert '| student | student alone |' in table and '| cwd | CWD (peer) |' in table
    assert '**failed**' in table and 'nekc' in table
    assert table in out  # the table is printed too
    with open(osp.join(work_dir, 'results.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # The teacher was trained first, and the CWD run distilled from its checkpoint.
    assert osp.isfile(osp.join(work_dir, 'teacher', 'epoch_1.pth'))
    with open(osp.join(work_dir, 'cwd', 'seed_0', 'train_done.json')) as f:
        assert 'model.teacher_ckpt=' + osp.join(work_dir, 'teacher', 'epoch_1.pth') in json.load(f)['command']
    # The teacher stage was fine-tuned once from the suite's teacher; its export taught cwd_ft.
    with open(osp.join(work_dir, 'teacher_mcmi', 'train_done.json')) as f:
        assert 'model.teacher_ckpt=' + osp.join(work_dir, 'teacher', 'epoch_1.pth') in json.load(f)['command']
    with open(osp.join(work_dir, 'cwd_ft', 'seed_0', 'train_done.json')) as f:
        assert ('model.teacher_ckpt=' + osp.join(work_dir, 'teacher_mcmi', 'epoch_1_student.pth')
                in json.load(f)['command'])
    # The evaluated checkpoint is the exported student, not the distillation checkpoint.
    with open(osp.join(work_dir, 'cwd', 'seed_0', 'metrics.json')) as f:
        assert json.load(f)['checkpoint'].endswith('epoch_2_student.pth')


def test_rerun_skips_finished_runs_and_resumes_an_interrupted_one(first_run):
    suite, work_dir, _, results = first_run
    student_metrics = osp.join(work_dir, 'student', 'seed_0', 'metrics.json')
    stamp = os.stat(student_metrics).st_mtime_ns
    # Cut the CWD run after its first epoch: no metrics, no final checkpoint, last_checkpoint -> epoch 1.
    run = osp.join(work_dir, 'cwd', 'seed_0')
    for name in ('metrics.json', 'train_done.json', 'epoch_2.pth', 'epoch_2_student.pth'):
        os.remove(osp.join(run, name))
    with open(osp.join(run, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(run, 'epoch_1.pth'))

    out = _accuracy(suite, '--seeds', '1', '--work-dir', work_dir, '--only', 'cwd')
    assert '2 runs: 1 already finished, 1 to do' in out
    assert os.stat(student_metrics).st_mtime_ns == stamp  # not redone
    resumed = open(osp.join(run, 'train_resumed.log')).read()
    assert 'resumed epoch: 1' in resumed and 'Epoch(train) [2]' in resumed
    assert 'Epoch(train) [1]' not in resumed
    with open(osp.join(work_dir, 'results.json')) as f:
        rows = {r['name']: r for r in json.load(f)['rows']}
    assert list(rows) == ['student', 'cwd'] and rows['cwd']['n'] == 1
    assert 'fine-tuning the suite' not in out  # --only cwd: no teacher stage


def test_dry_run_steps_every_config_and_prints_the_plan(first_run):
    suite, work_dir, _, _ = first_run
    out = _accuracy(suite, '--dry-run', '--seeds', '3', '--launcher', 'pytorch', '--gpus', '8',
                    '--work-dir', work_dir, '--only', 'cwd')
    assert 'ok      teacher' in out and 'ok      student' in out and 'ok      cwd' in out
    assert 'plan: 6 runs (2 rows x 3 seeds), launcher pytorch, 8 GPU(s) per run' in out
    assert 'bash tools/dist_train.sh configs/demo/cwd_fpn' in out and ' 8 --work-dir' in out
    assert 'expected: 3.0 h of runs, 24 GPU-hours' in out


def test_every_shipped_suite_loads():
    """Each suite names existing configs (load_suites reads every one of them)."""
    sys.path.insert(0, osp.dirname(TOOL))
    try:
        from accuracy_suite import load_suites
    finally:
        sys.path.remove(osp.dirname(TOOL))
    import glob
    paths = sorted(glob.glob(osp.join(REPO, 'tools', 'benchmarks', 'suites', '*.py')))
    names = {osp.basename(p) for p in paths}
    assert {'tiny_coco.py', 'tiny_cityscapes.py', 'coco.py', 'cityscapes.py'} <= names
    for path in paths:
        suites = load_suites(path)
        assert suites and all(s.variants for s in suites), path
    pairs = {s.name for s in load_suites(osp.join(REPO, 'tools', 'benchmarks', 'suites', 'coco.py'))}
    assert pairs == {'retinanet', 'faster_rcnn', 'reppoints'}
