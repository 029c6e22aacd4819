#!/usr/bin/env bash
# Idempotent set-up of the project venv: torch 2.13 (CPU wheel), mmcv 2.1.0 built from the sdist with ops,
# mmengine/mmdet/mmseg/mmrazor, the undeclared dependencies, and mmkd_plugin itself (editable).
#
#   VENV        the venv to create or reuse                       (default: .venv)
#   WHEEL_CACHE where the built mmcv wheel is kept between runs   (default: ~/.cache/mmkd_plugin/wheels)
#   TORCH_SPEC  the torch requirement; on a CUDA machine install the matching CUDA torch first,
#               e.g. TORCH_SPEC='torch==2.13.0' with PyTorch's CUDA index, and mmcv is then built with
#               FORCE_CUDA=1 (see docs/install.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/mmkd_plugin/wheels}
CONSTRAINTS=requirements/constraints.txt
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0+cpu}
PYTHON=${PYTHON:-python3.11}

start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q -c "$CONSTRAINTS" "$TORCH_SPEC"
# setuptools<82 keeps pkg_resources, which mmcv's setup.py and mmengine's `pkg::` config paths import.
$PIP install -q -c "$CONSTRAINTS" setuptools wheel ninja numpy

if ! ls "$WHEEL_CACHE"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEEL_CACHE"
  echo "building mmcv 2.1.0 with ops (about 9 minutes on 2 cores; cached in $WHEEL_CACHE)"
  cuda=$("$VENV/bin/python" -c 'import torch; print(int(torch.cuda.is_available()))')
  # CFLAGS replaces Python's default flags: keep -O3 and drop -g (31 -> 8.5 min, 32 -> 1.4 MB).
  MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS=${MAX_JOBS:-2} CFLAGS="-O3 -DNDEBUG -fwrapv -g0" \
    $PIP wheel -q --no-deps --no-build-isolation --no-cache-dir -w "$WHEEL_CACHE" mmcv==2.1.0
fi
$PIP install -q -c "$CONSTRAINTS" "$WHEEL_CACHE"/mmcv-2.1.0-*.whl
$PIP install -q -c "$CONSTRAINTS" -r requirements/runtime.txt -r requirements/tests.txt
$PIP install -q -c "$CONSTRAINTS" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import mmcv.ops, mmdet.models, mmseg.models, mmkd_plugin; print('stack ok: mmcv', mmcv.__version__)"
echo "install finished in $(( $(date +%s) - start )) s"
