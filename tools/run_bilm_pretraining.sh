#!/usr/bin/env bash
# Shards the shared unlabeled corpus (never test text) and pretrains the BiLM on it; stores the
# shard manifest and the pretraining report (perplexity per epoch and direction, tokens/s,
# provenance) under results/bilm_pretraining/NAME/.
#
#   tools/run_bilm_pretraining.sh NAME DATA_DIR [extra train_bilm flags...]
#   tools/run_bilm_pretraining.sh shared_1epoch ../shared/data/unlabeled --epochs=1
set -euo pipefail
name=$1 data=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
corpus=runs/corpus/$name run=runs/bilm/$name out=results/bilm_pretraining/$name
if [ ! -f "$corpus/manifest.json" ]; then
  "$py" "$root/tools/shard_corpus.py" --output_dir="$corpus" --num_shards=16 \
      --valid_fraction=0.01 --seed=1 --overwrite \
      --inputs="$data/external_biomed_text.txt,$data/ner_train_text.txt,$data/ner_devel_text.txt"
fi
mkdir -p "$(dirname "$run")"
echo "training; follow the log with: tail -f $run.stderr.log" >&2
/usr/bin/time -v "$py" "$root/tools/train_bilm.py" --shards_dir="$corpus" --run_dir="$run" "$@" \
    2> "$run.stderr.log"
mkdir -p "$out"
cp "$corpus/manifest.json" "$out/shards_manifest.json"
cp "$run/report.json" "$run/bilm_config.json" "$run/bilm_train_config.json" "$out/"
grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$run.stderr.log" > "$out/time_v.txt" || true
