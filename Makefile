# The README's commands. Each target installs what it needs first (idempotent).
VENV ?= .venv
DEMO_ARGS ?=
PY := $(VENV)/bin/python

.PHONY: install lint test test-numerics demo data clean

$(VENV)/.installed: tools/install.sh requirements/constraints.txt requirements/runtime.txt requirements/tests.txt setup.py
	VENV=$(VENV) bash tools/install.sh
	touch $@

install: $(VENV)/.installed

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
