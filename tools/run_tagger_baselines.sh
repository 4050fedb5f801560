#!/usr/bin/env bash
# Trains random-initialisation taggers (the paper's baseline) and stores their scores in results/.
#
#   tools/run_tagger_baselines.sh NAME DATA_DIR "SEEDS" [SHIP_PREDICTIONS] [extra train_tagger flags...]
#   tools/run_tagger_baselines.sh ncbi_disease ../shared/data/NCBI-disease-IOB "1 2 3" yes
#   tools/run_tagger_baselines.sh bc5cdr ../shared/data/BC5CDR-IOB "1 2 3" no
#
# Each seed's run directory is runs/tagger_random_init/NAME/seedK (resumable: rerun the same
# command after a crash). Scores (with provenance), history and configs are copied to
# results/tagger_random_init/NAME/seedK/. SHIP_PREDICTIONS=yes also copies the test predictions,
# which contain the corpus text: only for corpora we may redistribute (NCBI-disease).
set -euo pipefail
name=$1 data_dir=$2 seeds=$3 ship=${4:-no}
shift 4 || shift $#
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
for seed in $seeds; do
  run=runs/tagger_random_init/$name/seed$seed
  out=results/tagger_random_init/$name/seed$seed
  "$py" "$root/tools/train_tagger.py" --run_dir="$run" --data_dir="$data_dir" --seed="$seed" "$@"
  mkdir -p "$out"
  cp "$run/eval/scores.json" "$run/history.jsonl" "$run/tagger_config.json" \
     "$run/train_config.json" "$out/"
  if [ "$ship" = yes ]; then
    cp "$run/eval/test_predictions.conll" "$out/"
  fi
done
"$py" "$root/tools/summarize_results.py" --results_dir=results
