"""The CPU numerical code paths a test suite is run under, by environment variable.

Other x86-64 CPUs make the CPU libraries take other kernels: MKL (matrix products) by its dispatch on the
processor, oneDNN (convolutions) by the widest ISA it finds, ATen's own vectorised kernels by
``ATEN_CPU_CAPABILITY``. Each variable below makes this machine take the path another CPU would take, so a
seeded run that reproduces to the digit here can be checked for what moves elsewhere.
"""
from typing import Dict

#: name -> environment. ``default`` changes nothing; ``all-avx2`` takes the AVX2 path of every library
#: and ATen's scalar kernels at once (the combination CI runs the training-outcome tests under).
PATHS: Dict[str, Dict[str, str]] = {
    'default': {},
    'mkl-compatible': {'MKL_CBWR': 'COMPATIBLE'},
    'mkl-avx2': {'MKL_CBWR': 'AVX2'},
    'onednn-avx2': {'ONEDNN_MAX_CPU_ISA': 'AVX2'},
    'aten-default': {'ATEN_CPU_CAPABILITY': 'default'},
    'aten-avx2': {'ATEN_CPU_CAPABILITY': 'avx2'},
    'all-avx2': {'MKL_CBWR': 'AVX2', 'ONEDNN_MAX_CPU_ISA': 'AVX2', 'ATEN_CPU_CAPABILITY': 'default'},
}

#: The lowest common path of every x86-64 CPU, and one thread: MKL's conditional numerical reproducibility
#: (``COMPATIBLE``), oneDNN limited to SSE4.1, ATen's scalar kernels, one OpenMP thread (a reduction split
#: over another number of threads adds in another order). Same digits on any x86-64 CPU by construction;
#: its cost is measured by ``demo_spread`` (docs/benchmarks.md, "Where the numbers reproduce").
PORTABLE: Dict[str, str] = {'MKL_CBWR': 'COMPATIBLE', 'ONEDNN_MAX_CPU_ISA': 'SSE41',
                            'ATEN_CPU_CAPABILITY': 'default', 'OMP_NUM_THREADS': '1'}
