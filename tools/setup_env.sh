#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with the pinned, tested stack.
#
#   bash tools/setup_env.sh [--wheelhouse DIR] [--venv DIR]
#
# * CPU machines: installs the CPU build of torch 2.13.0 and never lets pip resolve torch or
#   torchvision freely (that would pull a multi-GB CUDA build).
# * mmcv 2.1.0 (full, with ops) comes from a prebuilt wheel in --wheelhouse (or
#   $MMCV_WHEELHOUSE) when one is there; otherwise it is compiled once (~10 min on 2 cores)
#   and the built wheel is cached in $VENV/wheelhouse for later runs.
# * Idempotent: a stamp records what was installed; a second run only re-checks imports.
#
# GPU users should not use this script: install a CUDA torch and `mim install mmcv`, see
# README.md ("Installation on a GPU machine").
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MMDLA_VENV:-$root/.venv}"
wheelhouse="${MMCV_WHEELHOUSE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --wheelhouse) wheelhouse="$2"; shift 2 ;;
    --venv) venv="$2"; shift 2 ;;
    *) echo "setup_env.sh: unknown argument '$1' (use --wheelhouse DIR, --venv DIR)" >&2; exit 2 ;;
  esac
done

TORCH=2.13.0
TORCHVISION=0.28.0
MMCV=2.1.0
pins=(setuptools==80.8.0 wheel ninja mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0
      mmdet==3.3.0 ftfy regex timm==1.0.31 pytest==9.2.0 pytest-xdist==3.8.0
      safetensors==0.8.0 onnx==1.23.2 onnxruntime==1.32.0 onnxscript==0.7.2 tensorboard==2.21.0
      cityscapesscripts==2.3.0 openmim==0.3.9 flake8==7.5.0 isort==9.0.2 yapf==0.43.0
      huggingface_hub==2.4.0 openvino==2026.4.1 nncf==3.4.0 numba==0.68.1 cachetools==8.0.3
      trimesh==5.2.0)
# MMDetection3D (SMOKE) without its declared dependencies: they pin open3d, an older numpy and
# more that the model, dataset and evaluation code never import (numba, cachetools and trimesh,
# above, are what they do import); the two devkits are pure Python and also taken --no-deps.
no_deps=(mmdet3d==1.4.0 lyft_dataset_sdk==0.0.8 nuscenes-devkit==1.2.0)
stamp_text="torch=$TORCH tv=$TORCHVISION mmcv=$MMCV ${pins[*]} ${no_deps[*]}"

python_bin="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
export PATH="$venv/bin:$PATH"   # the mmcv build finds pip's ninja on PATH
py="$venv/bin/python"
stamp="$venv/.mmdla-stack"

check_imports() {
  "$py" - <<'EOF'
import mmdla  # applies mmdla.compat (torchvision beside a CPU torch) before the others
import mmcv._ext, mmengine, mmseg, mmpretrain, mmdet, timm  # noqa: F401
import mmpretrain.models, torchvision  # noqa: F401
import mmdet3d.models, mmdet3d.datasets, mmdet3d.evaluation  # noqa: F401
EOF
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; then
  "$py" -m pip install -q --no-deps --no-build-isolation -e "$root"
  if check_imports; then
    echo "setup_env.sh: environment at $venv is up to date"
    exit 0
  fi
  echo "setup_env.sh: stamp present but imports fail; reinstalling" >&2
fi

start=$(date +%s)
pip_install() { "$py" -m pip install --disable-pip-version-check -q "$@"; }

# 1. torch first, pinned. On a machine without a CUDA driver take the CPU build.
if command -v nvidia-smi >/dev/null 2>&1; then
  pip_install "torch==$TORCH"
else
  pip_install "torch==$TORCH+cpu" 2>/dev/null \
    || pip_install "torch==$TORCH" --index-url https://download.pytorch.org/whl/cpu
fi
"$py" - <<EOF
import shutil, torch
assert torch.__version__.startswith("$TORCH"), torch.__version__
if shutil.which("nvidia-smi") is None and torch.version.cuda is not None:
    raise SystemExit("setup_env.sh: a CUDA torch was installed on a CPU machine; aborting")
EOF

# 2. build tools and mmengine. setuptools is pinned: >= 82 drops pkg_resources, which the
#    mmcv build and mmengine (mmseg::/mmpretrain:: base configs) need.
pip_install "${pins[@]:0:4}"

# 3. mmcv with ops: a prebuilt wheel if available, else compile (torch must be importable).
if ! "$py" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV'" 2>/dev/null; then
  local_wh="$venv/wheelhouse"
  mkdir -p "$local_wh"
  finds=(--find-links "$local_wh")
  [ -n "$wheelhouse" ] && [ -d "$wheelhouse" ] && finds+=(--find-links "$wheelhouse")
  if ! pip_install --no-index "${finds[@]}" --no-deps "mmcv==$MMCV" 2>/dev/null; then
    echo "setup_env.sh: no prebuilt mmcv $MMCV wheel found; compiling it with ops (~10 min)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" "$py" -m pip wheel --no-build-isolation --no-deps \
      --no-cache-dir "mmcv==$MMCV" -w "$local_wh"
    pip_install --no-index --find-links "$local_wh" --no-deps "mmcv==$MMCV"
  fi
  # mmcv's own light dependencies (never torch)
  pip_install addict packaging pillow pyyaml yapf opencv-python numpy
fi
"$py" -c "import mmcv._ext" || { echo "setup_env.sh: mmcv was built without ops" >&2; exit 1; }

# 4. OpenMMLab libraries. torchvision with --no-deps so it can never replace torch.
pip_install "${pins[@]:4:5}"
pip_install --no-deps "torchvision==$TORCHVISION"
pip_install "${pins[@]:9}" "torch==$TORCH" "torchvision==$TORCHVISION"
pip_install --no-deps "${no_deps[@]}"

# 5. mmdla itself, editable.
pip_install --no-deps --no-build-isolation -e "$root"
check_imports
echo "$stamp_text" > "$stamp"
echo "setup_env.sh: environment ready at $venv in $(( $(date +%s) - start )) s"
