#!/usr/bin/env bash
# Idempotent set-up of the project venv: torch 2.13 (CPU wheel), mmcv 2.1.0 built from the sdist with ops,
# mmengine/mmdet/mmseg/mmrazor, the undeclared dependencies, and mmkd_plugin itself (editable).
#
#   VENV        the venv to create or reuse                       (default: .venv)
#   WHEEL_CACHE where built mmcv wheels are kept between runs, one folder per torch build and CUDA
#               architecture list                                  (default: ~/.cache/mmkd_plugin/wheels)
#   TORCH_SPEC  the torch requirement (default torch==2.13.0+cpu); e.g. TORCH_SPEC=torch==2.14.1 for the
#               CUDA 13.0 build. From torch 2.14 on mmcv is built with -std=c++20
#               (tools/patches/mmcv-2.1.0-cxx20.patch). TORCHVISION_SPEC adds torchvision beside it.
#   FORCE_CUDA  1: build mmcv's CUDA ops even without a GPU (needs nvcc; CUDA_HOME, default the nvcc on
#               PATH's toolkit; TORCH_CUDA_ARCH_LIST, e.g. 9.0). Default: 1 when torch sees a GPU.
#   MAX_JOBS    compiler processes (default 2). See docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/mmkd_plugin/wheels}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0+cpu}
PYTHON=${PYTHON:-python3.11}

start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
# The pins hold for everything but torch, which TORCH_SPEC chooses: the venv keeps its own copy of them.
grep -v '^torch==' requirements/constraints.txt > "$VENV/constraints.txt"
CONSTRAINTS="$VENV/constraints.txt"
$PIP install -q -c "$CONSTRAINTS" "$TORCH_SPEC" ${TORCHVISION_SPEC:+"$TORCHVISION_SPEC"}
# setuptools<82 keeps pkg_resources, which mmcv's setup.py and mmengine's `pkg::` config paths import.
$PIP install -q -c "$CONSTRAINTS" setuptools wheel ninja numpy

torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
echo "torch==$torch_version" >> "$CONSTRAINTS"   # nothing below may replace it
cuda=${FORCE_CUDA:-$("$VENV/bin/python" -c 'import torch; print(int(torch.cuda.is_available()))')}
if [ "$cuda" = 1 ]; then
  # A wheel built for one torch (and architecture list) does not load into another: key the cache on both.
  WHEELS="$WHEEL_CACHE/torch-$torch_version-sm${TORCH_CUDA_ARCH_LIST:-native}"
else
  WHEELS="$WHEEL_CACHE/torch-$torch_version"
fi
if ! ls "$WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  # The source tree is kept beside the wheels until the wheel is built: an interrupted build (the CUDA one
  # takes about an hour on 2 cores) resumes where ninja stopped.
  src="$WHEELS/src"
  if [ ! -f "$src/mmcv-2.1.0/.patched" ]; then
    rm -rf "$src"; mkdir -p "$src"
    $PIP download -q --no-deps --no-binary :all: --no-build-isolation -d "$src" mmcv==2.1.0
    tar xzf "$src"/mmcv-2.1.0.tar.gz -C "$src"
    patch -d "$src/mmcv-2.1.0" -p1 -s < tools/patches/mmcv-2.1.0-cxx20.patch
    touch "$src/mmcv-2.1.0/.patched"
  fi
  build_env=()
  if [ "$cuda" = 1 ]; then
    # nvcc's own idea of its toolkit: /usr/local/bin/nvcc may be a wrapper script, whose folder (torch's guess,
    # /usr/local) has no crt/host_defines.h, and the build stops on info.cpp after an hour.
    CUDA_HOME=${CUDA_HOME:-$(cd "$(nvcc --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p')" && pwd)}
    # torch >= 2.14's headers include cuSPARSE/cuBLAS/... headers: a pip CUDA torch ships them in its
    # nvidia/cu13 package, a bare nvcc toolkit may not. The toolkit's include comes first, or the pip copy of
    # cuda_runtime_api.h shadows it and crt/host_defines.h is not found.
    nv=$("$VENV/bin/python" -c 'import glob, os, site; print(":".join(sorted(glob.glob(os.path.join(site.getsitepackages()[0], "nvidia", "cu*")))))')
    inc="$CUDA_HOME/include"; lib="$CUDA_HOME/lib64"
    for d in ${nv//:/ }; do inc="$inc:$d/include"; lib="$lib:$d/lib"; done
    build_env=(CUDA_HOME="$CUDA_HOME" CPATH="$inc${CPATH:+:$CPATH}" LIBRARY_PATH="$lib${LIBRARY_PATH:+:$LIBRARY_PATH}")
  fi
  echo "building mmcv 2.1.0 with ops for torch $torch_version, CUDA ops: $cuda (CPU: about 9 minutes on 2 cores;" \
       "cached in $WHEELS)"
  # CFLAGS replaces Python's default flags: keep -O3 and drop -g (31 -> 8.5 min, 32 -> 1.4 MB).
  env "${build_env[@]}" MMCV_WITH_OPS=1 FORCE_CUDA="$cuda" MAX_JOBS=${MAX_JOBS:-2} CFLAGS="-O3 -DNDEBUG -fwrapv -g0" \
    $PIP wheel -q --no-deps --no-build-isolation --no-cache-dir -w "$WHEELS" "$src/mmcv-2.1.0"
  rm -rf "$src"
fi
$PIP install -q -c "$CONSTRAINTS" "$WHEELS"/mmcv-2.1.0-*.whl
$PIP install -q -c "$CONSTRAINTS" -r requirements/runtime.txt -r requirements/tests.txt
$PIP install -q -c "$CONSTRAINTS" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import mmcv.ops, mmdet.models, mmseg.models, mmkd_plugin; print('stack ok: mmcv', mmcv.__version__)"
echo "install finished in $(( $(date +%s) - start )) s"
