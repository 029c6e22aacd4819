"""The end-to-end demo on generated COCO-layout data, on CPU, in a few minutes (`make demo`).

Steps, each through the project's command-line tools:
  1. generate the data (tools/generate_data.py);
  2. train a teacher (RetinaNet R18) and a student baseline (RetinaNet R18 at quarter width);
  3. distil the student from the teacher with ACAM-KD, the flagship, stopped half-way and resumed with
     --resume, and with MMRazor's CWD for comparison (same teacher, same schedule);
  4. export the student-only checkpoint (tools/export_student.py);
  5. evaluate teacher, baseline and distilled students with tools/test.py and print a table.

One seed: the 3-seed comparison is the tiny COCO accuracy suite (docs/benchmarks.md).

    python tools/demo.py [--work-dir work_dirs/demo] [--retrain] [--portable-numerics]

The table reproduces to the digit on one machine; another CPU's libraries take other kernels and land
elsewhere, within the spread docs/benchmarks.md measures ("Where the numbers reproduce").
``--portable-numerics`` runs every step on the code path every x86-64 CPU has, with one thread
(mmkd_devtools/numerics/paths.py PORTABLE), at the cost measured there.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time

from mmengine.logging import print_log

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from mmkd_devtools.numerics.paths import PORTABLE  # noqa: E402
DEMO = osp.join(REPO, 'configs', 'demo')
TEACHER = osp.join(DEMO, 'retinanet_r18_synthetic-coco.py')
STUDENT = osp.join(DEMO, 'retinanet_r18-w16_synthetic-coco.py')
ACAM_KD = osp.join(DEMO, 'acam-kd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')
CWD = osp.join(DEMO, 'cwd_fpn_retinanet-r18_retinanet-r18-w16_synthetic-coco.py')
EPOCHS = 20


ENV = dict(os.environ, PYTHONWARNINGS='ignore')


def tool(name: str, *args: str) -> str:
    """Run tools/<name> with this interpreter (environment ``ENV``), return its output."""
    cmd = [sys.executable, osp.join(REPO, 'tools', name), *args]
    print_log(f'$ {" ".join(osp.relpath(a, REPO) if a.startswith(REPO) else a for a in cmd[1:])}',
              logger='current')
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=ENV)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f'{name} failed with exit code {result.returncode}')
    return result.stdout + result.stderr


def metrics(output: str) -> dict:
    found = {}
    for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'):
        values = re.findall(rf'coco/{key}: (-?[0-9.]+)', output)
        found[key] = float(values[-1]) if values else float('nan')
    return found


def train(config: str, work_dir: str, retrain: bool, *extra: str) -> str:
    ckpt = osp.join(work_dir, f'epoch_{EPOCHS}.pth')
    if retrain or not osp.isfile(ckpt):
        tool('train.py', config, '--work-dir', work_dir, *extra)
    return ckpt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--retrain', action='store_true', help='retrain teacher, baseline and CWD')
    parser.add_argument('--portable-numerics', action='store_true',
                        help="the code path every x86-64 CPU has, one thread (docs/benchmarks.md)")
    args = parser.parse_args()
    if args.portable_numerics:
        ENV.update(PORTABLE)
        print_log(f'portable numerics: {PORTABLE}', logger='current')
    root = osp.join(REPO, args.work_dir)
    start = time.time()

    tool('generate_data.py', 'coco', '--out-dir', 'data/synthetic')  # a no-op when up to date
    teacher_ckpt = train(TEACHER, osp.join(root, 'teacher'), args.retrain)
    student_ckpt = train(STUDENT, osp.join(root, 'student'), args.retrain)

    teacher_opt = f'model.teacher_ckpt={teacher_ckpt}'
    cwd_dir = osp.join(root, 'cwd')
    cwd_ckpt = osp.join(cwd_dir, f'epoch_{EPOCHS}_student.pth')
    if args.retrain or not osp.isfile(cwd_ckpt):
        tool('train.py', CWD, '--work-dir', cwd_dir, '--cfg-options', teacher_opt)

    acam_dir = osp.join(root, 'acam_kd')
    tool('train.py', ACAM_KD, '--work-dir', acam_dir,
         '--cfg-options', f'train_cfg.max_epochs={EPOCHS // 2}', teacher_opt)
    resumed = tool('train.py', ACAM_KD, '--work-dir', acam_dir, '--resume', '--cfg-options', teacher_opt)
    if f'resumed epoch: {EPOCHS // 2}' not in resumed:
        raise SystemExit('the distillation run did not resume from its mid-run checkpoint')
    exported = osp.join(acam_dir, 'student_exported.pth')
    tool('export_student.py', osp.join(acam_dir, f'epoch_{EPOCHS}.pth'), '--out', exported)

    rows = [('teacher RetinaNet R18', TEACHER, teacher_ckpt),
            ('student R18 quarter width, no KD', STUDENT, student_ckpt),
            ('student + MMRazor CWD', STUDENT, cwd_ckpt),
            ('student + ACAM-KD (stopped, resumed, exported)', STUDENT, exported)]
    table = ['| model | bbox mAP | mAP@50 | mAP@75 |', '|---|---|---|---|']
    for name, config, ckpt in rows:
        m = metrics(tool('test.py', config, ckpt, '--work-dir', osp.join(root, 'test')))
        table.append(f"| {name} | {m['bbox_mAP']:.3f} | {m['bbox_mAP_50']:.3f} | {m['bbox_mAP_75']:.3f} |")
    print_log('Demo results on the generated COCO val set:\n' + '\n'.join(table), logger='current')
    print_log(f'demo finished in {time.time() - start:.0f} s', logger='current')


if __name__ == '__main__':
    main()
