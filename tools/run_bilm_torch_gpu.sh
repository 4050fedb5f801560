#!/usr/bin/env bash
# Pretrains BiLMs of several LSTM sizes side by side on one GPU with the torch port
# (tf_bilm_ner/torch_port), each for the same time budget, from a packed corpus
# (tools/pack_lm_corpus.py). For a GPU machine with torch, numpy and absl-py but no
# TensorFlow 2.15; run from the repository root. Each size writes OUT/u<units>/ (report.json,
# weights.json, weights-*.npz) at every validation, so a run cut short still leaves its last
# export.
#
#   tools/run_bilm_torch_gpu.sh PACKED OUT BUDGET_SECS UNITS... [-- extra train flags]
#   tools/run_bilm_torch_gpu.sh runs/packed/cased52m.npz.xz "$OUT" 420 512 384
#
# Then, on a machine with TensorFlow: tools/import_bilm_weights.py --weights=OUT/u512 ...
# Logs go to LOG_DIR (default OUT)/u<units>.log; their last lines are printed at the end. Where
# only a few files may come back from OUT, set LOG_DIR elsewhere (each size writes report.json
# and two or three weight files of at most 15 MiB).
set -uo pipefail
packed=$1 out=$2 budget=$3
shift 3
units=() extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  units+=("$1"); shift
done
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}.
export PYTHONUNBUFFERED=1
logs=${LOG_DIR:-$out}
mkdir -p "$logs"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
pids=()
for u in "${units[@]}"; do
  mkdir -p "$out/u$u"
  python3 tools/train_bilm_torch.py --packed="$packed" --out_dir="$out/u$u" --lstm_units="$u" \
      --time_budget_secs="$budget" --eval_every_secs=90 "${extra[@]}" \
      > "$logs/u$u.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
for u in "${units[@]}"; do echo "== u$u"; tail -n 12 "$logs/u$u.log"; done
exit $rc
