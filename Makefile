# The README's commands. Each target installs what it needs first (idempotent).
VENV ?= .venv
DEMO_ARGS ?=
PY := $(VENV)/bin/python

.PHONY: install install-cuda lint test test-numerics demo data clean

$(VENV)/.installed: tools/install.sh requirements/constraints.txt requirements/runtime.txt requirements/tests.txt setup.py
	VENV=$(VENV) bash tools/install.sh
	touch $@

install: $(VENV)/.installed

# The CUDA route on a machine with nvcc 13.0 and no GPU (docs/install.md): torch 2.14.1+cu130, mmcv's CUDA
# ops for TORCH_CUDA_ARCH_LIST (default 9.0, H100/H200), in its own venv. Not part of CI: about an hour on 2 cores.
CUDA_VENV ?= .venv-cu130
TORCH_CUDA_ARCH_LIST ?= 9.0
install-cuda:
	VENV=$(CUDA_VENV) TORCH_SPEC=torch==2.14.1 TORCHVISION_SPEC=torchvision==0.29.1 FORCE_CUDA=1 \
	  TORCH_CUDA_ARCH_LIST="$(TORCH_CUDA_ARCH_LIST)" bash tools/install.sh
	$(CUDA_VENV)/bin/python tools/check_cuda_build.py

# ruff.toml: pyflakes, pycodestyle (120 columns) and bugbear.
lint: install
	$(VENV)/bin/ruff check .

test: install
	$(PY) -m pytest tests -q

# The tests that assert where training ends, under another CPU's code paths (mmkd_devtools/numerics/paths.py).
test-numerics: install
	MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=default $(PY) -m pytest tests -q -m numerics

# make demo DEMO_ARGS=--portable-numerics: the code path every x86-64 CPU has, one thread (docs/benchmarks.md)
demo: install
	$(PY) tools/demo.py $(DEMO_ARGS)

data: install
	$(PY) tools/generate_data.py all --out-dir data/synthetic

clean:
	rm -rf work_dirs data/synthetic
