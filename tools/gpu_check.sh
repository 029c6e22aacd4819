#!/usr/bin/env bash
# The GPU check (issue 39), in one call on a machine with a GPU and no network:
#
#   bash tools/gpu_check.sh [--out DIR] [--budget SECONDS] [--all-configs]     # on the GPU machine
#   PYTHON=.venv/bin/python bash tools/gpu_check.sh --cpu                      # the dry run, without a GPU
#
# 1. installs the wheels tools/gpu_wheelhouse.sh built (WHEELHOUSE, default work_dirs/gpu_wheels) offline into
#    SITE (default /tmp/mmkd_site), first on PYTHONPATH, so that the machine's own packages stay untouched
#    (--no-deps: the image's torch, numpy, opencv-python-headless, scipy, matplotlib and pytest are used);
# 2. runs tools/gpu_check.py (its docstring lists the stages), which writes DIR/gpu_check.md, DIR/gpu_check.json and
#    log.txt (DIR: --out, else $OUT where the device tool sets it, else work_dirs/gpu_check).
# With --cpu the same install runs when the wheels fit this Python (cp312), and the stages run at small sizes.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)   # relative paths (--out) stay the caller's
PYTHON=${PYTHON:-python3}
WHEELHOUSE=${WHEELHOUSE:-$ROOT/work_dirs/gpu_wheels}
SITE=${SITE:-/tmp/mmkd_site}
start=$(date +%s%N)
tag=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
if ls "$WHEELHOUSE"/mmcv-*-"$tag"-*.whl >/dev/null 2>&1; then
  rm -rf "$SITE"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
    "$WHEELHOUSE"/*.whl || { echo "gpu_check: installing $WHEELHOUSE into $SITE failed"; exit 1; }
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  install_s=$((ms / 1000)).$(printf %03d $((ms % 1000)))
  echo "gpu_check: $(ls "$WHEELHOUSE"/*.whl | wc -l) wheels installed into $SITE in ${install_s} s"
elif [[ " $* " == *" --cpu "* ]]; then
  install_s=
  echo "gpu_check: no $tag wheels in $WHEELHOUSE; the dry run uses this Python's own packages"
else
  echo "gpu_check: no mmcv wheel for $tag in $WHEELHOUSE: run tools/gpu_wheelhouse.sh on the build machine first"
  exit 1
fi
exec "$PYTHON" "$ROOT/tools/gpu_check.py" "$@" ${install_s:+--install-s "$install_s"}
