#!/usr/bin/env bash
# Trains taggers for several seeds and stores their scores in results/GROUP/NAME/seedK/.
#
#   tools/run_taggers.sh GROUP NAME DATA_DIR "SEEDS" SHIP_PREDICTIONS [extra train_tagger flags...]
#   tools/run_taggers.sh tagger_random_init ncbi_disease ../shared/data/NCBI-disease-IOB "1 2 3" yes
#   tools/run_taggers.sh tagger_bilm_init bc5cdr ../shared/data/BC5CDR-IOB "1 2 3" no \
#       --init_from_bilm=runs/bilm/shared_10epoch
#
# Each seed's run directory is runs/GROUP/NAME/seedK (resumable: rerun the same command after a
# crash). Scores (with provenance), history, configs and the transfer report are copied to
# results/GROUP/NAME/seedK/. SHIP_PREDICTIONS=yes also copies the test predictions, which contain
# the corpus text: only for corpora we may redistribute (NCBI-disease).
set -euo pipefail
group=$1 name=$2 data_dir=$3 seeds=$4 ship=$5
shift 5
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
for seed in $seeds; do
  run=runs/$group/$name/seed$seed
  out=results/$group/$name/seed$seed
  "$py" "$root/tools/train_tagger.py" --run_dir="$run" --data_dir="$data_dir" --seed="$seed" "$@"
  mkdir -p "$out"
  cp "$run/eval/scores.json" "$run/history.jsonl" "$run/tagger_config.json" \
     "$run/train_config.json" "$out/"
  if [ -f "$run/transfer.json" ]; then cp "$run/transfer.json" "$out/"; fi
  if [ "$ship" = yes ] && [ -f "$run/eval/test_predictions.conll" ]; then
    cp "$run/eval/test_predictions.conll" "$out/"
  fi
done
"$py" "$root/tools/summarize_results.py" --results_dir=results
