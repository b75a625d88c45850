#!/usr/bin/env bash
# The main job on the embedded toy data, from a fresh clone:
#   bash tools/run_toy.sh [--wheelhouse DIR]
# 1. sets up .venv (tools/setup_env.sh: mmcv from a prebuilt wheel in --wheelhouse DIR or
#    $MMCV_WHEELHOUSE when one is there, otherwise compiled once, ~10 min),
# 2. generates the synthetic street scenes (data/toy),
# 3. trains DLA-34 + DLA-Up (configs/dla34_toy.py) on the CPU,
# 4. evaluates single-scale and with the paper's multi-scale test (--tta),
# 5. writes a colour overlay of one validation image.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup_env.sh "$@"
py="$root/.venv/bin/python"
work=work_dirs/dla34_toy
start=$(date +%s)

"$py" tools/misc/make_toy_data.py data/toy --seed 0
"$py" tools/train.py configs/dla34_toy.py --work-dir "$work"
ckpt="$(cat "$work/last_checkpoint")"
"$py" tools/test.py configs/dla34_toy.py "$ckpt" --work-dir "$work/test"
"$py" tools/test.py configs/dla34_toy.py "$ckpt" --tta --work-dir "$work/test_tta"
img=data/toy/leftImg8bit/val/toycity/toycity_100000_000019_leftImg8bit.png
"$py" demo/image_demo.py "$img" configs/dla34_toy.py "$ckpt" --out-file "$work/demo_overlay.png"

echo
echo "run_toy: done in $(( $(date +%s) - start )) s"
echo "  checkpoint:          $ckpt"
echo "  single-scale mIoU:   $("$py" -c "import json; print(json.load(open('$work/test/metrics.json'))['mIoU'])")"
echo "  multi-scale (TTA):   $("$py" -c "import json; print(json.load(open('$work/test_tta/metrics.json'))['mIoU'])")"
echo "  single-scale IoU per class (classes the toy scenes contain):"
log="$(ls "$work"/test/*/*.log | tail -n 1)"
sed -n '/per class results/,/Iter(test)/p' "$log" | grep '^|' | grep -v ' nan ' | sed 's/^/    /'
echo "  demo overlay:        $work/demo_overlay.png"
echo "  logs:                $work/"
