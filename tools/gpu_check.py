"""The GPU check (issue 39): what only a GPU shows, run in one call, into a markdown + JSON report.

    python tools/gpu_check.py [--cpu] [--out DIR] [--budget SECONDS] [--all-configs] [--install-s S]

Usually started by ``tools/gpu_check.sh``, which first installs the wheels ``tools/gpu_wheelhouse.sh``
built (offline). Stages, in this order, each in its own processes, each cut at what is left of ``--budget``
(a stage that would start with under 15 s left is skipped and says so):

1. environment: the GPU (``nvidia-smi``), torch, the stack's versions, and mmcv's build
   (``tools/check_cuda_build.py``: CUDA ops compiled in, the GPU's ``sm_`` among those compiled, else the
   ``TORCH_CUDA_ARCH_LIST`` to rebuild with, mmcv's nms launched on the GPU);
2. the CUDA-only tests (``pytest -m cuda``: tests/test_cuda, mmcv's nms and RoIAlign on CUDA against the CPU
   and torchvision, the losses' CUDA paths, the ACAM-KD kernel test);
3. ACAM-KD's attention memory per level (``acam_kd_memory.py --fused-only``): the five FPN levels of
   800x1333 (C = 256) and Cityscapes' 19 logits at 512x1024 / 8, both STCA-FF kernels, fp32 and fp16;
4. one training step of each method's full-scale configs at full resolution, fp32, and ``--amp`` for one per
   method and a two-stage one (``full_scale_steps.py``; ``--all-configs``: every config);
5. the cost benchmark (``distill_overhead.py``, fp32): ACAM-KD, MMRazor's CWD, NKD and PS-KD at 800x1333, and
   their segmentation configs at 512x1024, the ratio to the student step plus the teacher forward;
6. DDP with 2 processes on the one GPU: an NCCL all-reduce probe, then ``tools/train.py`` on the ACAM-KD
   demo config for 2 epochs, on NCCL where the probe passed, else on gloo with CUDA tensors (NCCL refuses
   two ranks on one device), and on NCCL with 1 process (``one_gpu_ddp.py``).

A command cut at its stage's limit is stopped with everything it started (torchrun's workers included); the
report is rewritten after each stage. The default ``--budget`` on a GPU is 400 s, the sum of the stages' caps.

``--cpu``: the dry run on a machine without a GPU (about 3.5 minutes on 2 cores; tests/test_tools/test_gpu_check.py
runs it). The same stages at small sizes (detection 256x416, segmentation 128x256, P3 of the 256x416 image and
the 19 logits in one process, the amp step of the first config only, ACAM-KD and CWD in the cost benchmark),
what needs CUDA reported as ``skipped: needs CUDA`` (the CUDA-only tests, collected and skipped; the NCCL probe;
mmcv's CUDA build check where mmcv has no CUDA ops), DDP on gloo; it shows every step works up to the GPU.

Writes ``DIR/gpu_check.md``, ``DIR/gpu_check.json`` and ``DIR/log.txt`` (every stage's output). Exit status 0
when every stage passed (or, in the dry run, needs CUDA), 1 when one failed or was cut by the budget, 2 without
``--cpu`` on a machine where torch sees no CUDA device (one message, nothing run).
"""
import argparse
import json
import os
import os.path as osp
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCH = osp.join(REPO, 'tools', 'benchmarks')
DEMO_CFG = 'configs/demo/acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py'
COST_DET = ['configs/acam_kd/acam-kd_fpn_retina-r101_retina-r50_2x_coco.py',
            'mmrazor::distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py',
            'configs/nkd/nkd_logits_retina-r101_retina-r50_2x_coco.py',
            'configs/pskd/pskd_retina-r50_1x_coco.py']
COST_SEG = ['configs/acam_kd/acam-kd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
            'mmrazor::distill/mmseg/cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
            'configs/nkd/nkd_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_80k_cityscapes-512x1024.py',
            'configs/pskd/pskd_deeplabv3-r18-d8_80k_cityscapes-512x1024.py']
MIN_STAGE_S = 15
MIN_DDP_RUN_S = 40  # a tools/train.py run under torchrun: data, model, 2 epochs, the export
CUDA_TESTS = ['tests/test_cuda', 'tests/test_models/test_acam_kd.py']  # where the tests marked cuda are
NEEDS_CUDA = 'skipped: needs CUDA'  # a stage or check the dry run cannot make (not a failure)


class Check:
    """The stages' shared state: the deadline, the log, the report's rows."""

    def __init__(self, args):
        self.args = args
        self.device = 'cpu' if args.cpu else 'cuda'
        self.start = time.time()
        self.deadline = self.start + args.budget
        self.out = osp.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.log = open(osp.join(self.out, 'log.txt'), 'w')
        self.stages = []
        self.env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONWARNINGS='ignore',
                        PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
        if args.cpu:
            self.env['CUDA_VISIBLE_DEVICES'] = ''

    def left(self) -> float:
        return self.deadline - time.time()

    def run(self, cmd: list, cap: float, cwd: str = REPO, env: dict = None) -> dict:
        """Run ``cmd``, at most ``cap`` seconds or what is left; its return code, output and wall time."""
        timeout = max(1.0, min(cap, self.left()))
        self.log.write(f"\n$ {' '.join(cmd)}   (cwd {cwd}, timeout {timeout:.0f} s)\n")
        self.log.flush()
        wall = time.time()
        # its own session, so that a command cut at its time limit goes with all it started
        proc = subprocess.Popen(cmd, cwd=cwd, env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = 'timeout'
            stdout, stderr = _stop(proc)
        out = (stdout or '') + (stderr or '')
        self.log.write(out + f'\n[rc {rc}, {time.time() - wall:.1f} s]\n')
        self.log.flush()
        return dict(rc=rc, out=out, wall_s=round(time.time() - wall, 1))

    def write_report(self) -> None:
        """``gpu_check.json`` and ``gpu_check.md`` as they stand (after each stage: a run cut short keeps them)."""
        report = dict(dry_run=self.args.cpu, budget_s=self.args.budget, wall_s=round(time.time() - self.start, 1),
                      stages=self.stages)
        with open(osp.join(self.out, 'gpu_check.json'), 'w') as f:
            json.dump(report, f, indent=1, default=str)
        with open(osp.join(self.out, 'gpu_check.md'), 'w') as f:
            f.write(markdown(self))

    def stage(self, name: str, cap: float, fn) -> None:
        """Run one stage unless too little time is left; record its status, wall time and results."""
        row = dict(stage=name)
        if self.left() < MIN_STAGE_S:
            row.update(status='skipped', summary=f'budget spent: {max(0.0, self.left()):.0f} s of the '
                       f'{self.args.budget:.0f} s left, under the {MIN_STAGE_S} s a stage needs')
        else:
            wall = time.time()
            try:
                row.update(fn(cap))
            except Exception as e:  # the report must still be written
                row.update(status='failed', summary=f'{type(e).__name__}: {e}'[:300])
            row['wall_s'] = round(time.time() - wall, 1)
        print(f"[{time.time() - self.start:6.1f} s] {name}: {row['status']} — {row.get('summary', '')}", flush=True)
        self.stages.append(row)
        self.write_report()


def _stop(proc: subprocess.Popen) -> tuple:
    """End a command cut at its time limit: SIGTERM first (torchrun then stops the workers it started in
    sessions of their own), then SIGKILL to its whole session; what it printed."""
    proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.communicate()


def json_lines(text: str) -> list:
    """The JSON objects printed one a line (a progress bar without its newline may stand in front of one)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        line = line[line.find('{"'):] if '{"' in line else line
        if line.startswith('{') and line.endswith('}'):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def tail(text: str, n: int = 6) -> str:
    return ' | '.join(line.strip() for line in text.strip().splitlines()[-n:])[-600:]


# --- the stages ---------------------------------------------------------------------------------------------
# The stack's versions, one JSON line; torchvision is optional (the CPU project venv has none)
STACK = """import importlib, json
import torch
out = dict(torch=torch.__version__, cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
           cuda_available=torch.cuda.is_available(), errors={})
# pkg_resources: setuptools < 82, which mmengine's mmdet:: config paths import; numpy: the image's, not the pin's
for name in ('mmkd_plugin', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmseg', 'mmrazor', 'numpy', 'pkg_resources'):
    try:
        out[name] = getattr(importlib.import_module(name), '__version__', 'imported')
    except Exception as e:
        out[name] = None
        out['errors'][name] = f'{type(e).__name__}: {e}'[:200]
try:
    from mmcv.ops import get_compiling_cuda_version
    out['mmcv_cuda'] = get_compiling_cuda_version()
except Exception as e:
    out['errors']['mmcv.ops'] = f'{type(e).__name__}: {e}'[:200]
print(json.dumps(out))
"""


def environment(check: Check, cap: float) -> dict:
    py = sys.executable
    info = dict(python=platform.python_version(), machine=platform.machine(), install_s=check.args.install_s)
    smi = shutil.which('nvidia-smi')
    if smi and not check.args.cpu:
        r = check.run([smi, '--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], 20)
        info['gpu'] = r['out'].strip()
    r = check.run([py, '-c', STACK], 60)
    rows = json_lines(r['out'])
    if r['rc'] != 0 or not rows:
        return dict(status='failed', summary='torch does not import: ' + tail(r['out']), info=info)
    info.update(rows[-1])
    needed = {k: v for k, v in info['errors'].items() if k != 'torchvision' or not check.args.cpu}
    if needed:
        return dict(status='failed', info=info, summary='the stack does not import: '
                    + '; '.join(f'{k}: {v}' for k, v in needed.items()))
    if info.get('mmcv_cuda') in (None, '', 'not available') and check.args.cpu:
        info['mmcv_build'] = 'skipped: needs CUDA (mmcv built without CUDA ops)'
        build = dict(rc=0)
    else:
        build = check.run([py, osp.join(REPO, 'tools', 'check_cuda_build.py')], 60)
        start = build['out'].find('{')
        try:
            info['mmcv_build'] = json.loads(build['out'][start:build['out'].rfind('}') + 1])
        except ValueError:
            info['mmcv_build'] = tail(build['out'])
    ok = build['rc'] == 0 and (check.args.cpu or info['cuda_available'])
    gpu = 'no GPU (dry run)' if check.args.cpu else info.get('gpu') or 'no GPU seen'
    summary = f"torch {info['torch']} (CUDA {info['cuda']}), mmcv {info['mmcv']}, {gpu}"
    if build['rc'] != 0:
        summary += '; check_cuda_build: ' + tail(build['out'], 3)
    elif isinstance(info.get('mmcv_build'), str):
        summary += '; mmcv CUDA build ' + info['mmcv_build']
    return dict(status='ok' if ok else 'failed', summary=summary, info=info)


def cuda_tests(check: Check, cap: float) -> dict:
    xml = osp.join(tempfile.mkdtemp(), 'cuda_tests.xml')
    r = check.run([sys.executable, '-m', 'pytest', *CUDA_TESTS, '-q', '-m', 'cuda', '-rfEs', f'--junitxml={xml}',
                   '-p', 'no:cacheprovider'], cap)
    counts, failures = dict(tests=0, failures=0, errors=0, skipped=0), []
    if osp.isfile(xml):
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == 'testsuite' else suite[0]
        counts = {k: int(suite.get(k, 0)) for k in counts}
        for case in suite.iter('testcase'):
            if case.find('failure') is not None or case.find('error') is not None:
                failures.append(f"{case.get('classname')}::{case.get('name')}")
    passed = counts['tests'] - counts['failures'] - counts['errors'] - counts['skipped']
    summary = f"{passed} passed, {counts['failures'] + counts['errors']} failed, {counts['skipped']} skipped"
    ok = r['rc'] == 0 and (check.args.cpu or counts['skipped'] == 0)
    if r['rc'] == 'timeout':
        summary += ', cut at the time limit'
    status = 'ok' if ok else 'failed'
    if ok and check.args.cpu:  # collected, every one skipped: the stage itself needs the GPU
        status, summary = NEEDS_CUDA, f"{counts['tests']} CUDA-only tests collected, all skipped"
    return dict(status=status, summary=summary, counts=dict(counts, passed=passed), failures=failures)


def attention_memory(check: Check, cap: float) -> dict:
    if check.args.cpu:  # P3 of the dry run's 256x416 input and the 19 logits of 128x256 / 8, in one process as
        # on CUDA (acam_kd_memory.py --in-process): the code path, not the CPU's figures
        levels = [(256, 32, 52), (19, 16, 32)]
    else:  # 800x1333 padded to 32: P3-P7; Cityscapes 512x1024 at stride 8
        levels = [(256, 100, 168), (256, 50, 84), (256, 25, 42), (256, 13, 21), (256, 7, 11), (19, 64, 128)]
    level_args = [str(x) for lv in levels for x in ('--level', *lv)]
    rows, failed = [], False
    for amp in (False, True):
        cmd = [sys.executable, osp.join(BENCH, 'acam_kd_memory.py'), '--device', check.device, '--fused-only',
               '--json', '--repeat', '1' if check.args.cpu else '3', *level_args] + (['--amp'] if amp else []) \
            + (['--in-process'] if check.args.cpu else [])
        r = check.run(cmd, cap / 2)
        rows += json_lines(r['out'])
        failed |= r['rc'] != 0
    errors = [r for r in rows if 'error' in r]
    p3 = [r for r in rows if r.get('height') == levels[0][1] and 'peak_mb' in r and not r['amp']]
    summary = ', '.join(f"{r['case']} {r['peak_mb']:.0f} MB" for r in p3)
    summary = (f'P3 {levels[0][1]}x{levels[0][2]} fp32: {summary}' if p3 else 'no result') + \
        (f'; {len(errors)} case(s) failed (no fused kernel?)' if errors else '')
    return dict(status='failed' if failed or errors else 'ok', summary=summary, rows=rows)


def full_scale_steps(check: Check, cap: float) -> dict:
    # bf16 convolutions on CPU take minutes a step (a dilated ResNet 5 min): the dry run's amp step is the first
    # config's only, enough to show the amp wrapper is built and steps
    sizes = ['--det-size', '256', '416', '--seg-size', '128', '256', '--amp-configs', '1'] if check.args.cpu else \
        ['--amp-configs', '7']  # fp32 for every config, --amp for one per method and the two-stage one
    json_out = osp.join(tempfile.mkdtemp(), 'steps.json')
    cmd = [sys.executable, osp.join(BENCH, 'full_scale_steps.py'), '--device', check.device, '--json', json_out,
           *sizes] + (['--all'] if check.args.all_configs else [])
    r = check.run(cmd, cap)
    if osp.isfile(json_out):  # written at the end; cut at the time limit: what was printed
        with open(json_out) as f:
            rows = json.load(f)
    else:
        rows = json_lines(r['out'])
    bad = [x for x in rows if 'error' in x or x.get('finite') is False]
    summary = f"{len(rows) - len(bad)}/{len(rows)} steps ran with finite losses"
    if r['rc'] == 'timeout':
        summary += ' (cut at the time limit)'
    if bad:
        summary += '; failed: ' + ', '.join(f"{osp.basename(x['config'])} {x['precision']}" for x in bad)
    return dict(status='ok' if r['rc'] == 0 and rows else 'failed', summary=summary, rows=rows)


def _port() -> str:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _torchrun(nproc: int, *args) -> list:
    return [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', f'--master_port={_port()}',
            osp.join(BENCH, 'one_gpu_ddp.py'), *args]


def ddp(check: Check, cap: float) -> dict:
    from_start = time.time()
    ws = tempfile.mkdtemp(prefix='gpu_check_ddp_')
    r = check.run([sys.executable, osp.join(REPO, 'tools', 'generate_data.py'), 'coco', '--out-dir',
                   osp.join(ws, 'data', 'synthetic')], 60, cwd=ws)
    if r['rc'] != 0:
        return dict(status='failed', summary='data generation: ' + tail(r['out']))
    code = ('import sys; from mmengine.config import Config; from mmkd_devtools.testing import write_random_teacher;'
            f'cfg = Config.fromfile({osp.join(REPO, DEMO_CFG)!r});'
            'import os; os.makedirs(os.path.dirname(cfg.model.teacher_ckpt), exist_ok=True);'
            'write_random_teacher(cfg.model, cfg.model.teacher_ckpt)')
    r = check.run([sys.executable, '-c', code], 60, cwd=ws)
    if r['rc'] != 0:
        return dict(status='failed', summary='random teacher: ' + tail(r['out']))
    runs = []
    if check.args.cpu:
        probe = dict(ok=None, note=f'NCCL {NEEDS_CUDA}')
    else:
        p = check.run(_torchrun(2, 'probe', '--backend', 'nccl'), 60, cwd=ws)
        found = json_lines(p['out'])
        probe = found[-1] if found else dict(ok=False, error=tail(p['out'], 4))
        duplicate = re.search(r'Duplicate GPU detected[^\n]*', p['out'])
        if duplicate:
            probe['error'] = duplicate.group(0)[:300]
    plans = [(2, 'nccl' if probe.get('ok') else 'gloo')]
    if not check.args.cpu and not probe.get('ok'):
        plans.append((1, 'nccl'))
    for nproc, backend in plans:
        left = min(cap - (time.time() - from_start), check.left())
        if left < MIN_DDP_RUN_S:
            runs.append(dict(nproc=nproc, backend=backend, status='skipped (time)'))
            continue
        work = osp.join(ws, 'work_dirs', f'ddp_{nproc}_{backend}')
        r = check.run(_torchrun(nproc, 'train', osp.join(REPO, DEMO_CFG), '--launcher', 'pytorch', '--work-dir', work,
                                '--cfg-options', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
                                'default_hooks.checkpoint.interval=2', f'env_cfg.dist_cfg.backend={backend}',
                                'model.architecture.test_cfg.score_thr=0.0'), left, cwd=ws)
        maps = re.findall(r'coco/bbox_mAP: (-?[0-9.]+)', r['out'])
        ok = (r['rc'] == 0 and f'GPU number: {nproc}' in r['out']
              and osp.isfile(osp.join(work, 'epoch_2_student.pth')))
        runs.append(dict(nproc=nproc, backend=backend, status='ok' if ok else 'failed', wall_s=r['wall_s'],
                         val_bbox_mAP=float(maps[-1]) if maps else None,
                         student_checkpoint=osp.isfile(osp.join(work, 'epoch_2_student.pth')),
                         **({} if ok else dict(error=tail(r['out'], 8)))))
    shutil.rmtree(ws, ignore_errors=True)
    parts = [f"NCCL probe (2 ranks, 1 GPU): {'passed' if probe.get('ok') else probe.get('note') or 'refused'}"]
    parts += [f"{x['nproc']} proc {x['backend']}: {x['status']}" for x in runs]
    ok = all(x['status'] == 'ok' for x in runs)
    return dict(status='ok' if ok else 'failed', summary='; '.join(parts), probe=probe, runs=runs)


def cost(check: Check, cap: float) -> dict:
    results, failed = {}, False
    if check.args.cpu:
        sizes = dict(detection=('256', '416'), segmentation=('128', '256'))
    else:
        sizes = dict(detection=('800', '1333'), segmentation=('512', '1024'))
    from_start = time.time()
    # the dry run: ACAM-KD and MMRazor's CWD only (each config's case is the same code; their CPU ratios mean nothing)
    plans = (('detection', COST_DET[:2] if check.args.cpu else COST_DET),
             ('segmentation', COST_SEG[:2] if check.args.cpu else COST_SEG))
    for kind, configs in plans:
        left = cap - (time.time() - from_start)
        if left < MIN_STAGE_S:
            results[kind] = dict(skipped='time')
            continue
        out_dir = tempfile.mkdtemp(prefix=f'cost_{kind}_')
        r = check.run([sys.executable, osp.join(BENCH, 'distill_overhead.py'), *configs, '--device', check.device,
                       '--size', *sizes[kind], '--iters', '2' if check.args.cpu else '4', '--out-dir', out_dir],
                      left if kind == 'segmentation' else left * 0.6)
        path = osp.join(out_dir, 'cost.json')
        if r['rc'] == 0 and osp.isfile(path):
            with open(path) as f:
                results[kind] = json.load(f)
            with open(osp.join(out_dir, 'cost.md')) as f:
                results[kind]['markdown'] = f.read()
            failed |= any('error' in row for row in results[kind]['rows'])
        else:
            results[kind] = dict(error=tail(r['out'], 8))
            failed = True
    parts = []
    for res in results.values():
        for row in res.get('rows', []):
            if 'ratio' in row:
                parts.append(f"{row['name']} {row['ratio']['median']:.2f}")
    return dict(status='failed' if failed else 'ok', summary='; '.join(parts) or 'no ratio', results=results)


# --- the report ---------------------------------------------------------------------------------------------
def markdown(check: Check) -> str:
    by = {s['stage']: s for s in check.stages}
    env = by.get('environment', {}).get('info', {})
    lines = ['# GPU check report', '',
             f"{'Dry run on CPU (--cpu)' if check.args.cpu else 'GPU: ' + str(env.get('gpu', '?'))}; "
             f"Python {env.get('python')}, torch {env.get('torch')} (CUDA {env.get('cuda')}, "
             f"cuDNN {env.get('cudnn')}), "
             f"mmcv {env.get('mmcv')}, mmdet {env.get('mmdet')}, mmseg {env.get('mmseg')}, "
             f"mmrazor {env.get('mmrazor')}, mmengine {env.get('mmengine')}, numpy {env.get('numpy')}. "
             + (f"Wheel install {env.get('install_s')} s; " if env.get('install_s') is not None else
                'No wheel install; ')
             + f"the check {time.time() - check.start:.0f} s "
             f"(budget {check.args.budget} s). `{' '.join(['python tools/gpu_check.py', *sys.argv[1:]])}`", '',
             '| stage | status | wall s | summary |', '|---|---|---|---|']
    for s in check.stages:
        lines.append(f"| {s['stage']} | {s['status']} | {s.get('wall_s', '')} | {s.get('summary', '')} |")
    tests = by.get('CUDA-only tests', {})
    if tests.get('failures'):
        lines += ['', '## CUDA-only tests: failures', ''] + [f'- `{f}`' for f in tests['failures']]
    mem = by.get('ACAM-KD attention memory', {}).get('rows')
    if mem:
        lines += ['', '## ACAM-KD attention memory per level (forward + backward, batch 1, SDPA math backend '
                  'forbidden)', ''] + (['Dry run: every case in one CPU process, so a peak is a lower bound only.', '']
                                       if check.args.cpu else []) \
            + ['| C x H x W | case | precision | peak MB above inputs | time s |', '|---|---|---|---|---|']
        for r in mem:
            value = f"failed: {r['error']} | " if 'error' in r else f"{r['peak_mb']} | {r['time_s']}"
            lines.append(f"| {r['channels']} x {r['height']} x {r['width']} | {r['case']} | "
                         f"{'amp' if r.get('amp') else 'fp32'} | {value} |")
    steps = by.get('full-scale steps', {}).get('rows')
    if steps:
        lines += ['', '## One training step per config (random weights, batch 2)', '',
                  '| config | precision | H x W | first step s | peak MB | losses finite | total loss |',
                  '|---|---|---|---|---|---|---|']
        for r in steps:
            if 'error' in r:
                lines.append(f"| {osp.basename(r['config'])} | {r['precision']} | | failed: {r['error']} | | | |")
                continue
            lines.append(f"| {osp.basename(r['config'])} | {r['precision']} | {r['size'][0]} x {r['size'][1]} | "
                         f"{r['wall_s']} | {'n/a (CPU)' if r['peak_mb'] is None else r['peak_mb']} | {r['finite']} | "
                         f"{r['losses'].get('loss')} |")
    dist = by.get('DDP on one GPU', {})
    if dist.get('runs') is not None:
        lines += ['', '## DDP on one GPU (2 processes; 1 process on NCCL where 2 cannot share it)', '',
                  f"NCCL probe: `{json.dumps(dist.get('probe'))}`", '',
                  '| processes | backend | status | wall s | val bbox mAP | student checkpoint |',
                  '|---|---|---|---|---|---|']
        for r in dist['runs']:
            lines.append(f"| {r['nproc']} | {r['backend']} | {r['status']} {r.get('error', '')} | {r.get('wall_s')} | "
                         f"{r.get('val_bbox_mAP')} | {r.get('student_checkpoint')} |")
    costs = by.get('cost benchmark', {}).get('results', {})
    for kind, res in costs.items():
        lines += ['', f'## Cost benchmark, {kind}', '', res.get('markdown') or f"not measured: {res}"]
    return '\n'.join(lines) + '\n'


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value > 0:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number of seconds above 0 (e.g. --budget 400)')
    return value


def _out_problem(path: str):
    """Why ``path`` cannot be the report folder, with the fix; None when it can (it is made here).

    Not ``mmkd_plugin.tool_paths.path_problem``: that imports mmengine, and this script must write its report
    where the stack does not import (the environment stage says why)."""
    if osp.exists(path) and not osp.isdir(path):
        return f'--out {path} is a file, not a folder: give a folder for the report (made if missing)'
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        return f'--out {path}: the folder cannot be made here ({e.strerror}); give a folder you can write'
    if not os.access(path, os.W_OK):
        return f'--out {path} is not writable; give a folder you can write'
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cpu', action='store_true', help='dry run without a GPU (small sizes)')
    parser.add_argument('--out', default=os.environ.get('OUT') or 'work_dirs/gpu_check',
                        help='report folder (default: $OUT where set, else work_dirs/gpu_check)')
    parser.add_argument('--budget', type=_seconds, default=None,
                        help='seconds for all stages (default 400 on a GPU, 3600 with --cpu)')
    parser.add_argument('--all-configs', action='store_true', help='step every full-scale config')
    parser.add_argument('--install-s', type=float, default=None, help="the wheel install's seconds (for the report)")
    args = parser.parse_args()
    args.budget = args.budget if args.budget is not None else (3600 if args.cpu else 400)
    if not args.cpu:
        import torch
        if not torch.cuda.is_available():
            print(f'gpu_check: no CUDA device here (torch {torch.__version__}, CUDA build '
                  f'{torch.version.cuda or "none"}): run it on a machine with a GPU and a CUDA build of torch '
                  '(docs/install.md), or pass --cpu for the dry run of every stage at small sizes.',
                  file=sys.stderr)
            sys.exit(2)
    problem = _out_problem(args.out)
    if problem:
        parser.error(problem)
    check = Check(args)
    # each stage's cap on a GPU (they add up to the default budget, 400 s); the dry run's are generous
    check.stage('environment', 40 if not args.cpu else 120, lambda cap: environment(check, cap))
    check.stage('CUDA-only tests', 60 if not args.cpu else 120, lambda cap: cuda_tests(check, cap))
    check.stage('ACAM-KD attention memory', 40 if not args.cpu else 300, lambda cap: attention_memory(check, cap))
    check.stage('full-scale steps', 110 if not args.cpu else 1200, lambda cap: full_scale_steps(check, cap))
    check.stage('cost benchmark', 90 if not args.cpu else 1200, lambda cap: cost(check, cap))
    check.stage('DDP on one GPU', 60 if not args.cpu else 600, lambda cap: ddp(check, cap))
    check.log.close()
    print(markdown(check))
    sys.exit(0 if all(s['status'] in ('ok', NEEDS_CUDA) for s in check.stages) else 1)


if __name__ == '__main__':
    main()
