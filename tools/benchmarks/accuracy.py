"""Train the student alone and every distillation variant of a suite over several seeds; tabulate.

    python tools/benchmarks/accuracy.py SUITE [--seeds N] [--work-dir D] [--only NAME ...] [--jobs J]
                                              [--launcher {none,pytorch,slurm}] [--gpus G]
                                              [--partition P] [--dry-run]

    python tools/benchmarks/accuracy.py tools/benchmarks/suites/tiny_coco.py --seeds 3

Each run goes through ``tools/train.py`` (``randomness.seed`` = the seed; the suite's teacher checkpoint
for distillation configs), then its student-only checkpoint through ``tools/test.py`` with the student
config. Per run, ``WORK_DIR/<variant>/seed_<s>/`` keeps the training and test logs and ``metrics.json``;
a run whose ``metrics.json`` exists is never redone, an interrupted one is resumed (``--resume``), a
failed one is reported in the table and the others go on. ``WORK_DIR/results.{json,md,png}`` are
rewritten after every run. ``--dry-run`` builds every config offline and steps it once at a tiny size
(nothing is trained or downloaded), then prints the plan: the commands, the GPUs, the expected hours.
The suite format: ``tools/benchmarks/accuracy_suite.py``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

from mmengine.logging import print_log

from mmkd_plugin.tool_paths import path_arg

import accuracy_report
from accuracy_suite import (BASELINE, REPO, TEACHER, Launcher, Run, Suite, TeacherStage, expected_hours, load_suites,
                            model_keys, needs_teacher, plan_runs, read_config, shell, train_options)

DONE = 'train_done.json'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('suite', type=path_arg('config'),
                        help='a suite file, e.g. tools/benchmarks/suites/tiny_coco.py')
    parser.add_argument('--seeds', type=int, default=3, help='seeds 0..N-1 (default 3)')
    parser.add_argument('--work-dir', help='default: work_dirs/benchmarks/<suite name>')
    parser.add_argument('--only', nargs='+', metavar='NAME', help='these variants (and the baseline)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time; each gets cpu_count // jobs threads (CPU suites)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        help="default: the suite's (none: python tools/train.py)")
    parser.add_argument('--gpus', type=int, help="GPUs per run with --launcher pytorch/slurm")
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--dry-run', action='store_true',
                        help='build and step every config offline, print the plan, train nothing')
    return parser.parse_args(argv)


class Executor:
    """Runs commands from the repository root, each with its log file and a thread budget."""

    def __init__(self, threads: Optional[int] = None) -> None:
        self.env = dict(os.environ, PYTHONWARNINGS='ignore', PYTHONUNBUFFERED='1')
        if threads:
            self.env['OMP_NUM_THREADS'] = str(threads)

    def __call__(self, cmd: List[str], log_path: str) -> Optional[str]:
        """Run ``cmd``; return None on success, else the last lines of its log."""
        if cmd[0] == 'python':
            cmd = [sys.executable, *cmd[1:]]
        os.makedirs(osp.dirname(log_path), exist_ok=True)
        with open(log_path, 'w') as log:
            code = subprocess.run(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT).returncode
        if code == 0:
            return None
        with open(log_path) as f:
            tail = [line.strip() for line in f.readlines()[-40:] if line.strip()]
        error = next((line for line in reversed(tail) if 'Error' in line or 'error' in line), tail[-1:] or [''])
        return f'exit code {code}: {error if isinstance(error, str) else error[0]} (log: {log_path})'


def last_checkpoint(work_dir: str) -> Optional[str]:
    path = osp.join(REPO, work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    return ckpt if osp.isabs(ckpt) else osp.relpath(osp.join(REPO, ckpt), REPO)


def train(executor: Executor, launcher: Launcher, config: str, work_dir: str, options: List[str],
          job: str) -> str:
    """Train (or resume, or skip when done) ``config`` in ``work_dir``; return the last checkpoint.

    Raises:
        RuntimeError: with the failure's last log line.
    """
    done = osp.join(REPO, work_dir, DONE)
    if osp.isfile(done):
        with open(done) as f:
            return json.load(f)['checkpoint']
    resume = last_checkpoint(work_dir) is not None
    cmd = launcher.train(config, work_dir, options, job) + (['--resume'] if resume else [])
    log = osp.join(REPO, work_dir, 'train_resumed.log' if resume else 'train.log')
    error = executor(cmd, log)
    if error:
        raise RuntimeError(error)
    ckpt = last_checkpoint(work_dir)
    if ckpt is None:
        raise RuntimeError(f'{config} saved no checkpoint in {work_dir} (is a CheckpointHook set?)')
    with open(done, 'w') as f:
        json.dump(dict(checkpoint=ckpt, command=shell(cmd)), f)
    return ckpt


def student_checkpoint(executor: Executor, ckpt: str, config: str) -> str:
    """The student-only checkpoint of a run (exported by StudentCheckpointHook, or here)."""
    student = ckpt[:-len('.pth')] + '_student.pth'
    if osp.isfile(osp.join(REPO, student)):
        return student
    if 'architecture' not in model_keys(config):
        return ckpt  # a plain detector/segmentor checkpoint is student-only already
    error = executor(['python', 'tools/export_student.py', ckpt, '--out', student],
                     osp.join(REPO, osp.dirname(ckpt), 'export.log'))
    if error:
        raise RuntimeError(error)
    return student


def parse_options(options: List[str]) -> dict:
    """``['a.b=1', 'c=[1,2]']`` as ``--cfg-options`` would parse them."""
    from mmengine.config import DictAction
    return {k: DictAction._parse_iterable(v) for k, v in (o.split('=', 1) for o in options)}


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """The metrics MMEngine's LoggerHook dumped for the newest ``tools/test.py`` run in ``test_dir``."""
    dumps = sorted(glob.glob(osp.join(REPO, test_dir, '*', '*.json')), key=osp.getmtime)
    if not dumps:
        raise RuntimeError(f'tools/test.py wrote no metrics under {test_dir}')
    with open(dumps[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


class Benchmark:
    """One suite (or one pair of a multi-pair suite) in its work dir."""

    def __init__(self, suite: Suite, args: argparse.Namespace, work_dir: str) -> None:
        self.suite = suite
        self.seeds = args.seeds
        self.work_dir = work_dir
        only = [n for n in args.only or [] if n in {v.name for v in suite.rows}]
        self.variants = suite.select(only) if args.only else suite.rows
        defaults = self.suite.launcher
        self.launcher = Launcher(kind=args.launcher or defaults.get('kind', 'none'),
                                 gpus=args.gpus or defaults.get('gpus', 1), partition=args.partition)
        self.jobs = max(1, args.jobs)
        threads = max(1, (os.cpu_count() or 1) // self.jobs) if self.jobs > 1 else None
        self.executor = Executor(threads)
        self.runs = plan_runs(self.suite, self.variants, self.seeds)
        self.outcomes: Dict[str, dict] = {}
        self.stage_checkpoints: Dict[str, str] = {}

    # -- one run -------------------------------------------------------------------------------
    def metrics_path(self, run: Run) -> str:
        return osp.join(REPO, self.work_dir, run.work_dir, 'metrics.json')

    def finished(self, run: Run) -> Optional[dict]:
        path = self.metrics_path(run)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def execute(self, run: Run, teacher_ckpt: Optional[str]) -> dict:
        work_dir = osp.join(self.work_dir, run.work_dir)
        start = time.time()
        if run.variant.teacher_stage is not None:
            teacher_ckpt = self.stage_checkpoints[run.variant.teacher_stage.name]
        ckpt_teacher = teacher_ckpt if needs_teacher(run.variant.config) else None
        ckpt = train(self.executor, self.launcher, run.variant.config, work_dir,
                     train_options(self.suite, run, ckpt_teacher), f'{run.variant.name}_s{run.seed}')
        student = student_checkpoint(self.executor, ckpt, run.variant.config)
        test_dir = osp.join(work_dir, 'test')
        error = self.executor(self.launcher.test(self.suite.student.config, student, test_dir,
                                                 [*self.suite.data_options, *self.suite.test_options],
                                                 f'test_{run.variant.name}'),
                              osp.join(REPO, work_dir, 'test.log'))
        if error:
            raise RuntimeError(error)
        metrics = read_test_metrics(test_dir)
        if self.suite.metric not in metrics:
            raise RuntimeError(f'{self.suite.metric!r} is not among the test metrics {sorted(metrics)}')
        result = dict(value=float(metrics[self.suite.metric]), metrics=metrics, checkpoint=student,
                      seconds=round(time.time() - start, 1))
        with open(self.metrics_path(run), 'w') as f:
            json.dump(result, f, indent=2)
        return result

    # -- the suite -----------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Generate the suite's data with tools/generate_data.py (a no-op when it is up to date)."""
        data = self.suite.data
        if not data or 'generate' not in data:
            return
        cmd = ['python', 'tools/generate_data.py', data['generate'], '--out-dir',
               data.get('out_dir', 'data/synthetic')]
        for key in ('num_train', 'num_val', 'seed'):
            if key in data:
                cmd += [f'--{key.replace("_", "-")}', str(data[key])]
        error = self.executor(cmd, osp.join(REPO, self.work_dir, 'generate_data.log'))
        if error:
            raise SystemExit(f'data generation failed: {error}')

    def teacher_checkpoint(self) -> Optional[str]:
        teacher = self.suite.teacher
        if teacher.get('checkpoint'):
            return teacher['checkpoint']
        if not any(needs_teacher(v.config) for v in self.variants):
            return None
        print_log(f"training the suite's teacher {teacher['config']} (seed 0) first", logger='current')
        # Alone on the machine: all threads, whatever --jobs says.
        return train(Executor(), self.launcher, teacher['config'], osp.join(self.work_dir, TEACHER),
                     ['randomness.seed=0', *self.suite.data_options, *teacher.get('options', [])],
                     'teacher')

    def stages(self) -> List[TeacherStage]:
        """The teacher stages of the selected variants, each once."""
        return list({v.teacher_stage.name: v.teacher_stage for v in self.variants if v.teacher_stage}.values())

    def stage_options(self, stage: TeacherStage, teacher_ckpt: str) -> List[str]:
        return ['randomness.seed=0', *self.suite.data_options, *stage.options, f'model.teacher_ckpt={teacher_ckpt}']

    def train_stages(self, teacher_ckpt: Optional[str]) -> Dict[str, str]:
        """Fine-tune the suite's teacher for each stage (seed 0, once); the exported teachers by stage name."""
        checkpoints = {}
        for stage in self.stages():
            if teacher_ckpt is None:
                raise RuntimeError(f'teacher_stage {stage.name!r} needs the suite\'s teacher checkpoint.')
            print_log(f'fine-tuning the suite\'s teacher: stage {stage.name!r} ({stage.config})', logger='current')
            ckpt = train(Executor(), self.launcher, stage.config, osp.join(self.work_dir, stage.work_dir),
                         self.stage_options(stage, teacher_ckpt), f'{TEACHER}_{stage.name}')
            checkpoints[stage.name] = student_checkpoint(Executor(), ckpt, stage.config)
        return checkpoints

    def report(self, elapsed: float) -> None:
        results = accuracy_report.summarise(self.suite, self.variants, self.seeds, self.outcomes)
        results['seconds'] = round(elapsed, 1)
        results['run_seconds'] = {name: o.get('seconds') for name, o in self.outcomes.items()}
        out = osp.join(REPO, self.work_dir)
        accuracy_report.write(results, osp.join(out, 'results.json'), osp.join(out, 'results.md'),
                              osp.join(out, 'results.png'))

    def run(self) -> int:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        os.makedirs(osp.join(REPO, self.work_dir), exist_ok=True)
        start = time.time()
        self.prepare_data()
        try:
            teacher_ckpt = self.teacher_checkpoint()
        except RuntimeError as e:
            raise SystemExit(f'the teacher failed to train: {e}') from e
        try:
            self.stage_checkpoints = self.train_stages(teacher_ckpt)
        except RuntimeError as e:
            raise SystemExit(f'a teacher stage failed to train: {e}') from e
        todo = []
        for run in self.runs:
            done = self.finished(run)
            if done is None:
                todo.append(run)
            else:
                self.outcomes[run.name] = done
        print_log(f'{len(self.runs)} runs: {len(self.runs) - len(todo)} already finished, {len(todo)} to '
                  f'do, {self.jobs} at a time; results in {self.work_dir}/results.md', logger='current')
        columns = [TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                   TextColumn('elapsed'), TimeElapsedColumn(), TextColumn('left'), TimeRemainingColumn()]
        with Progress(*columns, transient=False) as progress, ThreadPoolExecutor(self.jobs) as pool:
            task = progress.add_task('runs', total=len(todo))
            current = set()

            def one(run: Run) -> None:
                current.add(run.name)
                progress.update(task, description=f'runs (now: {", ".join(sorted(current))})')
                try:
                    self.outcomes[run.name] = self.execute(run, teacher_ckpt)
                    status = f"{self.suite.metric} {self.outcomes[run.name]['value']:.4f}"
                except Exception as e:  # a failed variant is reported; the others go on
                    self.outcomes[run.name] = dict(error=str(e))
                    status = f'FAILED: {e}'
                current.discard(run.name)
                progress.advance(task)
                done = progress.tasks[0].completed
                print_log(f'[{done}/{len(todo)}] {run.name}: {status} ({time.time() - start:.0f} s elapsed)',
                          logger='current')
                self.report(time.time() - start)

            list(pool.map(one, todo))
        self.report(time.time() - start)
        failed = [n for n, o in self.outcomes.items() if 'error' in o]
        return 1 if failed and len(failed) == len(self.runs) else 0

    # -- --dry-run -----------------------------------------------------------------------------
    def dry_run(self) -> int:
        import mmkd_plugin  # noqa: F401
        sys.path.insert(0, REPO)  # mmkd_devtools: the repository's own
        from mmkd_devtools.testing import smoke_train_step
        configs = [(BASELINE if v.name == BASELINE else v.name, v.config, v.options) for v in self.variants]
        configs[1:1] = [(stage.work_dir, stage.config, stage.options) for stage in self.stages()]
        if not self.suite.teacher.get('checkpoint'):
            configs.insert(0, (TEACHER, self.suite.teacher['config'], self.suite.teacher.get('options', [])))
        failures = 0
        for name, config, options in configs:
            cfg = read_config(config)
            cfg.merge_from_dict(parse_options(options))
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    log_vars = smoke_train_step(cfg, tmp)
                    print_log(f'ok      {name:<16} {config}: one step, losses '
                              f'{", ".join(sorted(k for k in log_vars if "loss" in k))}', logger='current')
                except Exception as e:
                    failures += 1
                    print_log(f'FAILED  {name:<16} {config}: {type(e).__name__}: {e}', logger='current')
        self.print_plan()
        return 1 if failures else 0

    def print_plan(self) -> None:
        teacher_ckpt = self.suite.teacher.get('checkpoint') or osp.join(self.work_dir, TEACHER, '<last>.pth')
        lines = [f'plan: {len(self.runs)} runs ({len(self.variants)} rows x {self.seeds} seeds), launcher '
                 f'{self.launcher.kind}, {self.launcher.gpus} GPU(s) per run']
        hours = 0.0
        for stage in self.stages():
            lines.append('  ' + shell(self.launcher.train(stage.config, osp.join(self.work_dir, stage.work_dir),
                                                          self.stage_options(stage, teacher_ckpt),
                                                          stage.work_dir)))
        for run in self.runs:
            if run.seed == 0:
                work_dir = osp.join(self.work_dir, run.work_dir)
                ckpt = teacher_ckpt if needs_teacher(run.variant.config) else None
                if ckpt and run.variant.teacher_stage:
                    ckpt = osp.join(self.work_dir, run.variant.teacher_stage.work_dir, '<last>_student.pth')
                lines.append('  ' + shell(self.launcher.train(run.variant.config, work_dir,
                                                              train_options(self.suite, run, ckpt), run.name)))
                lines.append('  ' + shell(self.launcher.test(self.suite.student.config,
                                                             f'{work_dir}/<last>_student.pth',
                                                             f'{work_dir}/test', self.suite.test_options,
                                                             run.name)))
            h = expected_hours(self.suite, run.variant)
            hours += h or 0
        lines.append(f'  ... and the same for seeds 1..{self.seeds - 1}' if self.seeds > 1 else '')
        lines.append(f'expected: {hours:.1f} h of runs, {hours * self.launcher.gpus:.0f} GPU-hours '
                     f"(the suite's per-run estimates; runs one after another)")
        print('\n'.join(line for line in lines if line))


def main(argv=None) -> int:
    args = parse_args(argv)
    suites = load_suites(args.suite)
    names = {v.name for suite in suites for v in suite.rows}
    unknown = sorted(set(args.only or []) - names)
    if unknown:
        raise SystemExit(f'--only {unknown}: not in {args.suite}; its variants are {sorted(names)}.')
    root = args.work_dir or osp.join('work_dirs', 'benchmarks', osp.splitext(osp.basename(args.suite))[0])
    benchmarks = [Benchmark(s, args, osp.join(root, s.name) if s.name else root) for s in suites]
    if args.dry_run:
        return max(b.dry_run() for b in benchmarks)
    code = max(b.run() for b in benchmarks)
    tables = [open(osp.join(REPO, b.work_dir, 'results.md')).read() for b in benchmarks]
    if len(benchmarks) > 1:
        with open(osp.join(REPO, root, 'results.md'), 'w') as f:
            f.write('\n'.join(tables))
    print('\n'.join(tables))
    return code


if __name__ == '__main__':
    sys.exit(main())
