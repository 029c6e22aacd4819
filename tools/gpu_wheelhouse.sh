#!/usr/bin/env bash
# The wheels the lent GPU machine lacks (issue 23, item 2), built on this CPU machine:
# mmcv 2.1.0 with CUDA ops for its Python 3.12 / torch 2.11.0+cu130 / sm_90, and the pure-Python stack and the
# few compiled dependencies its image does not hold (KINDS.md's package list), pinned by
# requirements/constraints.txt. They go to WHEELHOUSE (default work_dirs/gpu_wheels, git-ignored), to be named in
# the device `run`'s carry.
#
#   PYTHON312=/path/to/python3.12 bash tools/gpu_wheelhouse.sh
#
# On the GPU machine, offline: python3 -m pip install --no-index --no-deps work_dirs/gpu_wheels/*.whl
# (--no-deps: mmcv asks for opencv-python, the image has opencv-python-headless, which gives the same cv2).
# The mmcv build takes tens of minutes on 2 cores (docs/install.md); the rest seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON312=${PYTHON312:-python3.12}
VENV=${VENV:-.venv-gpu312}
WHEELHOUSE=${WHEELHOUSE:-work_dirs/gpu_wheels}
PYTHON="$PYTHON312" VENV="$VENV" TORCH_SPEC=torch==2.11.0 TORCHVISION_SPEC=torchvision==0.26.0 FORCE_CUDA=1 \
  TORCH_CUDA_ARCH_LIST=9.0 bash tools/install.sh
mkdir -p "$WHEELHOUSE"
cp "${WHEEL_CACHE:-$HOME/.cache/mmkd_plugin/wheels}/torch-2.11.0+cu130-sm9.0/"mmcv-2.1.0-*.whl "$WHEELHOUSE/"
# what the stack needs beyond the image's packages (read off `pip list` of $VENV against KINDS.md, 2026-12-04)
# setuptools: pinned below 82 for pkg_resources (mmdet:: config paths); the image's may be newer
missing="addict ftfy mmdet mmengine mmrazor mmsegmentation ordered-set platformdirs prettytable pycocotools setuptools
shapely termcolor terminaltables tzdata wcwidth yapf"
specs=$(for name in $missing; do grep -i "^${name}==" requirements/constraints.txt || echo "$name"; done)
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip download --no-deps -q -d "$WHEELHOUSE" $specs
du -sh "$WHEELHOUSE"
ls "$WHEELHOUSE"
