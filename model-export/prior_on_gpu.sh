#!/usr/bin/env bash
# The prior's pretraining as one prepared call on a lent GPU machine, where PyTorch is installed
# but there is no Java, no network and no venv (so `make prior`, which builds both, cannot run
# there). Its steps fit a wall-clock budget: a short probe times them, then the run takes as many
# as the rest of the budget holds, so that the learning-rate schedule ends inside it. Writes
# OUT/prior/checkpoint.pt and the logs; the ONNX export and its checks run back here:
#
#     model-export/prior_on_gpu.sh OUT [BUDGET_SECONDS=480] [BATCH=32] [DEVICE=cuda]    # PYTHON: python3
#     python -m npt_export.export --checkpoint OUT/prior/checkpoint.pt --out ../models/prior   # from model-export/, here
set -euo pipefail
out=${1:?usage: prior_on_gpu.sh OUT [BUDGET_SECONDS] [BATCH] [DEVICE]}
budget=${2:-480}
batch=${3:-32}
device=${4:-cuda}
python=${PYTHON:-python3}
probe=40
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")"
# Pure-Python packages that the machine's Python may lack (tqdm), installed here beforehand with
# `pip install --target build/device-site tqdm` and carried there with the working tree.
export PYTHONPATH=.:../build/device-site
if ! missing=$("$python" -c "import numpy, torch, tqdm" 2>&1); then
    echo "$python cannot pretrain here: ${missing##*$'\n'}; install what is missing into build/device-site (pip install --target) and carry it" >&2
    exit 1
fi
pretrain() {
    "$python" -m npt_export.prior --device "$device" --batch "$batch" --no-export "$@"
}
start=$(date +%s)
if ! pretrain --out "$out/probe" --steps $probe --eval-every $probe > "$out/probe.log" 2>&1; then
    tail -n 5 "$out/probe.log" >&2
    exit 1
fi
used=$(( $(date +%s) - start + 1 ))
# The probe's steps alone took `trained` seconds; the rest of its time (start-up, validation) the
# run pays once more. A tenth of the budget is left over.
trained=$(sed -n 's/^trained [0-9]* steps in \([0-9]*\) s.*/\1/p' "$out/probe.log")
trained=$(( ${trained:-$used} > 0 ? ${trained:-$used} : 1 ))
steps=$(( probe * (budget * 9 / 10 - used - (used - trained)) / trained ))
if (( steps < probe )); then
    echo "a budget of ${budget} s holds no run: the probe of $probe steps took ${used} s (see $out/probe.log)" >&2
    exit 1
fi
echo "probe: $probe steps in ${used} s; pretraining $steps steps at batch $batch on $device"
pretrain --out "$out/prior" --steps "$steps" 2>&1 | tr '\r' '\n' | grep -v "it/s" > "$out/prior.log"
tail -n 3 "$out/prior.log"
echo "pretrained in $(( $(date +%s) - start )) s of a budget of ${budget} s: $out/prior/checkpoint.pt"
