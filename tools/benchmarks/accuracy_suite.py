"""An accuracy suite and the runs it implies (used by ``tools/benchmarks/accuracy.py``).

A suite is an MMEngine config file under ``tools/benchmarks/suites/`` (so a suite can inherit another with
``_base_``)::

    metric = 'coco/bbox_mAP'                       # the key tools/test.py logs
    data = dict(generate='coco', out_dir='data/synthetic')   # optional: tools/generate_data.py args
    teacher = dict(config='configs/demo/x.py', checkpoint=None)  # None: train it first (seed 0)
    student = dict(config='configs/demo/y.py', label='student alone')  # the baseline
    train_options = ['train_cfg.max_epochs=24']    # --cfg-options of every student run
    test_options = []                              # --cfg-options of every tools/test.py call
    data_options = []        # --cfg-options of every run, the teacher's and the tests' included
    variants = dict(
        cwd=dict(config='configs/demo/cwd.py', label='MMRazor CWD', peer=True),
        acam=dict(config='...', options=['model.acam.loss_weight=2'],
                  target=dict(value=41.2, baseline=37.4, source='ACAM-KD, ICCV 2025, Table 1')),
        # a variant may distil from a fine-tuned teacher: the stage's config is trained once (seed 0)
        # from the suite's teacher (its model.teacher_ckpt), and its export is this variant's teacher_ckpt
        cwd_mcmi=dict(config='configs/demo/cwd.py', teacher_stage=dict(name='mcmi', config='...')))
    launcher = dict(gpus=1, hours_per_run=0.02)    # defaults of --launcher/--gpus and the plan

Paths are relative to the repository root. Every variant is trained with the student's schedule
unless its config says otherwise, once per seed (``randomness.seed``), and its student-only checkpoint
is evaluated with ``tools/test.py`` and the student config.
"""
import functools
import os.path as osp
import shlex
from dataclasses import dataclass, field
from typing import List, Optional

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE = 'student'
TEACHER = 'teacher'


@dataclass
class Variant:
    """One row of the table: a config trained once per seed."""
    name: str
    config: str
    label: str
    options: List[str] = field(default_factory=list)
    peer: bool = False
    target: Optional[dict] = None
    hours: Optional[float] = None
    teacher_stage: Optional['TeacherStage'] = None


@dataclass
class TeacherStage:
    """A fine-tuning of the suite's teacher (e.g. MCMI) that some variants distil from."""
    name: str  # its work dir: teacher_<name>
    config: str
    options: List[str] = field(default_factory=list)

    @property
    def work_dir(self) -> str:
        return f'{TEACHER}_{self.name}'


@dataclass
class Suite:
    path: str
    name: str  # the pair's name in a file with several pairs, else ''
    metric: str
    teacher: dict
    student: Variant
    variants: List[Variant]
    train_options: List[str]
    test_options: List[str]
    data_options: List[str]
    data: Optional[dict]
    launcher: dict

    @property
    def rows(self) -> List[Variant]:
        """The baseline first, then the variants in the suite's order."""
        return [self.student, *self.variants]

    def select(self, only: List[str]) -> List[Variant]:
        """The baseline and the variants named in ``only``."""
        return [v for v in self.rows if v.name in only or v.name == BASELINE]


def _options(value) -> List[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [f'{k}={v}' for k, v in value.items()]
    return [str(v) for v in value]


def _variant(name: str, spec: dict, suite_path: str) -> Variant:
    if 'config' not in spec:
        raise SystemExit(f'{suite_path}: variant {name!r} needs a `config`.')
    unknown = set(spec) - {'config', 'label', 'options', 'peer', 'target', 'hours', 'teacher_stage'}
    if unknown:
        raise SystemExit(f'{suite_path}: variant {name!r} has unknown keys {sorted(unknown)}.')
    stage = spec.get('teacher_stage')
    if stage is not None:
        if not {'name', 'config'} <= set(stage) or set(stage) - {'name', 'config', 'options'}:
            raise SystemExit(f'{suite_path}: variant {name!r}: teacher_stage takes name, config and options, '
                             f'got {sorted(stage)}.')
        stage = TeacherStage(name=stage['name'], config=stage['config'], options=_options(stage.get('options')))
    return Variant(name=name, config=spec['config'], label=spec.get('label', name),
                   options=_options(spec.get('options')), peer=bool(spec.get('peer', False)),
                   target=spec.get('target'), hours=spec.get('hours'), teacher_stage=stage)


SHARED_KEYS = ('metric', 'train_options', 'test_options', 'data_options', 'data', 'launcher')


def load_suites(path: str) -> List[Suite]:
    """Read and check a suite file: one suite, or one per entry of ``pairs`` (each a teacher, a student
    and variants; the file's other keys are the defaults every pair may override).

    Raises:
        SystemExit: a required key is missing, a config does not exist, or a name is reserved.
    """
    cfg = Config.fromfile(path)
    if 'pairs' not in cfg:
        return [_suite(path, '', cfg)]
    shared = {k: cfg[k] for k in SHARED_KEYS if k in cfg}
    return [_suite(path, name, {**shared, **pair}) for name, pair in cfg.pairs.items()]


def _suite(path: str, name: str, cfg) -> Suite:
    where = f'{path} (pair {name!r})' if name else path
    for key in ('metric', 'teacher', 'student', 'variants'):
        if key not in cfg:
            raise SystemExit(f'{where}: a suite needs `{key}` (see tools/benchmarks/accuracy_suite.py).')
    variants = [_variant(vname, dict(spec), where) for vname, spec in cfg['variants'].items()]
    for reserved in (BASELINE, TEACHER):
        if reserved in {v.name for v in variants}:
            raise SystemExit(f'{where}: {reserved!r} is reserved for the suite\'s own {reserved}.')
    student = dict(cfg['student'])
    student = _variant(BASELINE, dict(student, label=student.get('label', 'student alone')), where)
    suite = Suite(path=path, name=name, metric=cfg['metric'], teacher=dict(cfg['teacher']), student=student,
                  variants=variants, train_options=_options(cfg.get('train_options')),
                  test_options=_options(cfg.get('test_options')),
                  data_options=_options(cfg.get('data_options')), data=cfg.get('data'),
                  launcher=dict(cfg.get('launcher', {})))
    configs = ([suite.teacher.get('config')] + [v.config for v in suite.rows]
               + [v.teacher_stage.config for v in suite.rows if v.teacher_stage])
    stages = {}
    for v in suite.rows:
        if v.teacher_stage and stages.setdefault(v.teacher_stage.name, v.teacher_stage) != v.teacher_stage:
            raise SystemExit(f'{where}: teacher_stage {v.teacher_stage.name!r} is defined twice, differently.')
    missing = [c for c in configs if c and '::' not in c and not osp.isfile(osp.join(REPO, c))]
    if missing:
        raise SystemExit(f'{where}: configs not found (paths are relative to {REPO}): {missing}')
    for config in configs:  # read once here: config loading is not thread-safe (pkg_resources)
        if config:
            model_keys(config)
    return suite


@functools.lru_cache(maxsize=None)
def model_keys(config: str) -> frozenset:
    """The top-level keys of a config's ``model``: ``teacher_ckpt`` marks a config that distils from a
    teacher checkpoint, ``architecture`` one whose checkpoints hold a student inside an algorithm."""
    return frozenset(read_config(config).model)


def read_config(config: str) -> Config:
    """A suite's config: a path relative to the repository, or an installed package's ``pkg::path``."""
    if '::' in config:
        from mmengine.hub import get_config
        return get_config(config)
    return Config.fromfile(osp.join(REPO, config))


def needs_teacher(config: str) -> bool:
    return 'teacher_ckpt' in model_keys(config)


@dataclass
class Launcher:
    """How a run is started: ``none`` (python tools/x.py), ``pytorch`` (torchrun) or ``slurm``."""
    kind: str = 'none'
    gpus: int = 1
    partition: Optional[str] = None

    def train(self, config: str, work_dir: str, options: List[str], job: str) -> List[str]:
        tail = ['--work-dir', work_dir] + (['--cfg-options', *options] if options else [])
        if self.kind == 'pytorch':
            return ['bash', 'tools/dist_train.sh', config, str(self.gpus), *tail]
        if self.kind == 'slurm':
            return ['env', f'GPUS={self.gpus}', 'bash', 'tools/slurm_train.sh', self.partition or 'PARTITION', job,
                    config, work_dir, *tail[2:]]
        return ['python', 'tools/train.py', config, *tail]

    def test(self, config: str, checkpoint: str, work_dir: str, options: List[str], job: str) -> List[str]:
        tail = ['--work-dir', work_dir] + (['--cfg-options', *options] if options else [])
        if self.kind == 'pytorch':
            return ['bash', 'tools/dist_test.sh', config, checkpoint, str(self.gpus), *tail]
        if self.kind == 'slurm':
            return ['env', f'GPUS={self.gpus}', 'bash', 'tools/slurm_test.sh', self.partition or 'PARTITION', job,
                    config, checkpoint, *tail]
        return ['python', 'tools/test.py', config, checkpoint, *tail]


def shell(cmd: List[str]) -> str:
    return ' '.join(shlex.quote(c) for c in cmd)


@dataclass
class Run:
    """One training run of a variant with one seed, and the evaluation of its student."""
    variant: Variant
    seed: int
    work_dir: str  # relative to the suite's work dir

    @property
    def name(self) -> str:
        return f'{self.variant.name} seed {self.seed}'


def plan_runs(suite: Suite, variants: List[Variant], seeds: int) -> List[Run]:
    """Seed-major order, so that an interrupted suite has every variant at the first seeds."""
    return [Run(v, s, osp.join(v.name, f'seed_{s}')) for s in range(seeds) for v in variants]


def train_options(suite: Suite, run: Run, teacher_ckpt: Optional[str]) -> List[str]:
    options = [f'randomness.seed={run.seed}', *suite.data_options, *suite.train_options,
               *run.variant.options]
    if teacher_ckpt is not None:
        options.append(f'model.teacher_ckpt={teacher_ckpt}')
    return options


def expected_hours(suite: Suite, variant: Variant) -> Optional[float]:
    return variant.hours if variant.hours is not None else suite.launcher.get('hours_per_run')
