"""tools/gpu_check.sh / gpu_check.py (issue 39): the GPU check's dry run on this CPU, its refusal without CUDA, and
a check that fails. The GPU figures themselves come from a GPU machine (docs/benchmarks.md)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))
from full_scale_steps import DEFAULT  # noqa: E402

STAGES = ['environment', 'CUDA-only tests', 'ACAM-KD attention memory', 'full-scale steps', 'cost benchmark',
          'DDP on one GPU']


def _check(tmp_path, *args, script='gpu_check.sh'):
    env = dict(os.environ, PYTHON=sys.executable, WHEELHOUSE=str(tmp_path / 'no_wheels'), OUT=str(tmp_path / 'out'))
    cmd = ['bash', osp.join(REPO, 'tools', script), *args] if script.endswith('.sh') else \
        [sys.executable, osp.join(REPO, 'tools', script), '--out', str(tmp_path / 'out'), *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the dry run is what a machine without a GPU runs')
def test_the_dry_run_steps_every_stage_and_names_what_needs_cuda(tmp_path):
    done = _check(tmp_path, '--cpu')
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert 'the dry run uses this Python\'s own packages' in done.stdout
    with open(tmp_path / 'out' / 'gpu_check.json') as f:
        report = json.load(f)
    by = {s['stage']: s for s in report['stages']}
    assert list(by) == STAGES and report['dry_run']
    assert by['environment']['status'] == 'ok' and by['environment']['info']['torch'] == torch.__version__
    assert by['CUDA-only tests']['status'] == 'skipped: needs CUDA'
    assert by['CUDA-only tests']['counts']['tests'] >= 14 and by['CUDA-only tests']['counts']['failures'] == 0
    memory = by['ACAM-KD attention memory']
    assert memory['status'] == 'ok'
    assert {(r['case'], r['channels'], r['amp']) for r in memory['rows']} == {
        (case, c, amp) for case in ('mse', 'acam-kd (chunked)', 'acam-kd (sdpa)') for c in (256, 19)
        for amp in (False, True)}
    steps = by['full-scale steps']
    assert steps['status'] == 'ok'
    assert [(r['config'], r['precision']) for r in steps['rows']] == \
        [(DEFAULT[0], 'fp32'), (DEFAULT[0], 'amp')] + [(c, 'fp32') for c in DEFAULT[1:]]
    assert all(r['finite'] and math_finite(r['losses']) for r in steps['rows'])
    seg = [r for r in steps['rows'] if 'cityscapes' in r['config']]
    assert seg and all(r['size'] == [128, 256] for r in seg)
    ddp = by['DDP on one GPU']
    assert ddp['status'] == 'ok' and ddp['probe']['note'] == 'NCCL skipped: needs CUDA'
    (run,) = ddp['runs']
    assert (run['nproc'], run['backend'], run['student_checkpoint']) == (2, 'gloo', True)
    assert 0 <= run['val_bbox_mAP'] <= 1
    cost = by['cost benchmark']
    assert cost['status'] == 'ok'
    for kind in ('detection', 'segmentation'):
        ratios = [row['ratio']['median'] for row in cost['results'][kind]['rows']]
        assert len(ratios) == 2 and all(0.3 < r < 5 for r in ratios), ratios
    text = (tmp_path / 'out' / 'gpu_check.md').read_text()
    assert text.startswith('# GPU check report\n\nDry run on CPU (--cpu)')
    for heading in ('## ACAM-KD attention memory per level', '## One training step per config',
                    '## DDP on one GPU', '## Cost benchmark, detection',
                    '## Cost benchmark, segmentation'):
        assert heading in text
    assert (tmp_path / 'out' / 'log.txt').stat().st_size > 0


def math_finite(losses: dict) -> bool:
    return all(torch.isfinite(torch.tensor(v)).item() for v in losses.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_without_cuda_and_without_cpu_one_message_and_exit_2(tmp_path):
    done = _check(tmp_path, script='gpu_check.py')
    assert done.returncode == 2 and 'Traceback' not in done.stderr
    assert 'no CUDA device here' in done.stderr and '--cpu' in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / 'out').exists()


def test_a_stage_cut_by_the_budget_fails_the_check(tmp_path):
    """A budget spent before the stages ran is a failed check (exit 1), never a pass by omission."""
    done = _check(tmp_path, '--cpu', '--budget', '16', script='gpu_check.py')
    assert done.returncode == 1, done.stdout[-2000:]
    with open(tmp_path / 'out' / 'gpu_check.json') as f:
        stages = json.load(f)['stages']
    assert [s['stage'] for s in stages] == STAGES
    assert stages[0]['status'] == 'ok' and {s['status'] for s in stages[1:]} == {'skipped'}
    assert all(s['summary'].startswith('budget spent: ') and s['summary'].endswith(
        ' s of the 16 s left, under the 15 s a stage needs') for s in stages[1:])
    assert '| cost benchmark | skipped |' in (tmp_path / 'out' / 'gpu_check.md').read_text()


@pytest.mark.parametrize('args, message', [
    (['--budget', '0'], "argument --budget: '0' is not a number of seconds above 0"),
    (['--budget', '-5'], "argument --budget: '-5' is not a number of seconds above 0"),
    (['--out', '{file}'], 'is a file, not a folder: give a folder for the report'),
])
def test_a_bad_budget_or_report_folder_is_one_message(tmp_path, args, message):
    (tmp_path / 'a_file').write_text('')
    args = [a.format(file=tmp_path / 'a_file') for a in args]
    done = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'gpu_check.py'), '--cpu', *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr and 'Traceback' not in done.stderr
    assert not (tmp_path / 'work_dirs').exists()
