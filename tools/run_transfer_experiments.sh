#!/usr/bin/env bash
# The paper's experiments for one dataset: random init vs BiLM init over seeds (test F1 and devel
# F1 per epoch), then test F1 at fractions of the train sentences for both inits. Results land in
# results/tagger_{random,bilm}_init/NAME/ and results/data_efficiency_{random,bilm}_init/NAME_fPCT/
# (tools/run_taggers.sh), tables and plots via tools/summarize_results.py.
#
#   tools/run_transfer_experiments.sh NAME DATA_DIR BILM_DIR "SEEDS" "PERCENTS" SHIP [flags...]
#   tools/run_transfer_experiments.sh ncbi_disease ../shared/data/NCBI-disease-IOB \
#       runs/bilm/shared_10epoch "1 2 3" "10 25 50" yes
#
# SHIP=yes stores test predictions of the full-data runs (redistributable corpora only). PERCENTS
# are below 100 (the full-data runs are the 100% points).
# Every run directory is resumable: rerun the same command after a crash. Finished seeds are
# skipped (their scores.json exists). Extra flags go to every train_tagger run of both inits;
# flags in the BILM_FLAGS environment variable go to the BiLM-initialised runs only (the
# fine-tuning schedule, e.g. BILM_FLAGS=--encoder_lr_scale=0.5). BILM_GROUP (default bilm_init)
# names their results: results/tagger_$BILM_GROUP/ and results/data_efficiency_$BILM_GROUP/, e.g.
#   BILM_GROUP=bilm52m_features BILM_FLAGS="--encoder_lr_scale=0.5 --bilm_features" \
#       tools/run_transfer_experiments.sh bc2gm ../shared/data/BC2GM-IOB biomed52m_3epoch \
#       "1 2 3" "10 25 50" no      # (biomed52m_3epoch: git checkout 555e6ca -- checkpoints/...)
# Likewise RANDOM_FLAGS and RANDOM_GROUP (default random_init) for the random-init runs: the
# baseline of a BiLM of other sizes has the BiLM's encoder sizes, e.g. for 384 LSTM units
#   RANDOM_GROUP=random_init_u384 RANDOM_FLAGS=--lstm_units=384 BILM_GROUP=bilm52m_u384_init \
#       BILM_FLAGS=--encoder_lr_scale=0.5 tools/run_transfer_experiments.sh ncbi_disease \
#       tf_bilm_ner/resources/ncbi_disease biomed52m_u384_3epoch "1 2 3" "10 25 50" yes
set -euo pipefail
name=$1 data=$2 bilm=$3 seeds=$4 percents=$5 ship=$6
shift 6
here=$(dirname "$0")
run() {  # GROUP NAME SEEDS SHIP [flags...]: the seeds whose scores are not stored yet
  local group=$1 n=$2 todo="" keep=$4
  for s in $3; do [ -f "results/$group/$n/seed$s/scores.json" ] || todo="$todo $s"; done
  shift 4
  if [ -n "$todo" ]; then "$here/run_taggers.sh" "$group" "$n" "$data" "$todo" "$keep" "$@"; fi
}
random_flags=(${RANDOM_FLAGS:-})
random_group=${RANDOM_GROUP:-random_init}
run "tagger_$random_group" "$name" "$seeds" "$ship" "${random_flags[@]}" "$@"
bilm_flags=(--init_from_bilm="$bilm" ${BILM_FLAGS:-})
group=${BILM_GROUP:-bilm_init}
run "tagger_$group" "$name" "$seeds" "$ship" "${bilm_flags[@]}" "$@"
for pct in $percents; do
  frac=$(printf '0.%02d' "$pct")
  run "data_efficiency_$random_group" "${name}_f$pct" "$seeds" no --train_fraction="$frac" \
      "${random_flags[@]}" "$@"
  run "data_efficiency_$group" "${name}_f$pct" "$seeds" no --train_fraction="$frac" \
      "${bilm_flags[@]}" "$@"
done
