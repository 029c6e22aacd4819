"""The preflight: a distillation run's checks before its first step (docs/preflight.md).

``settings`` (the ``preflight`` config key), ``agreement`` (classes, inputs), ``teacher_quality`` (the
teacher's metric on the first N validation images), ``metafile`` (a stock config's published metric),
``first_step`` (each loss finite, reaching the student, its magnitude; the step's cost), ``summary``,
``state`` (nothing changes for training), ``samples`` (batches without touching the run's loaders),
``run`` (the order and the refusal), ``hook`` (``PreflightHook``, registered by ``DistillRunner``).
"""
from .hook import PreflightHook
from .run import Report, ValData, run_preflight
from .settings import DEFAULTS, PreflightError, read_settings
from .state import preserved_state

__all__ = ['DEFAULTS', 'PreflightError', 'PreflightHook', 'Report', 'ValData', 'preserved_state', 'read_settings',
           'run_preflight']
