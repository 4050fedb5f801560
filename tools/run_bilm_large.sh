#!/usr/bin/env bash
# Pretrains a BiLM on the large cased corpus (../shared/data/unlabeled plus the cased files of
# ../shared/data/unlabeled_large, raw text tokenised as inference tokenises it) and stores what
# it has so far (per-epoch history, configs, shard manifest, train_bilm log) under
# results/bilm_pretraining/NAME/. Resumable: rerun the same command after an interruption.
#
#   tools/run_bilm_large.sh NAME [extra train_bilm flags...]
#   tools/run_bilm_large.sh cased52m_lazy --optimizer=lazy_adam --epochs=3
#
# SumPubMed (lowercase) is left out: see results/README.md, "Pretraining on the large corpus".
set -euo pipefail
name=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
U=${SHARED_DATA:-../shared/data}/unlabeled L=${SHARED_DATA:-../shared/data}/unlabeled_large
corpus=runs/corpus/cased52m_v2 run=runs/bilm/$name out=results/bilm_pretraining/$name
if [ ! -f "$corpus/manifest.json" ]; then
  mkdir -p "$(dirname "$corpus")"
  # unlabeled/ is in the benchmarks' own tokenisation (their train and devel text among it):
  # kept as it is, so the vocabulary has the benchmarks' tokens (JNLPBA's "IL-2", "NF-kappaB").
  /usr/bin/time -v "$py" "$root/tools/shard_corpus.py" --output_dir="$corpus" --tokenize \
      --keep_tokens="$U/external_biomed_text.txt,$U/ner_train_text.txt,$U/ner_devel_text.txt" \
      --num_shards=32 --valid_fraction=0.001 --seed=1 --overwrite \
      --inputs="$U/external_biomed_text.txt,$U/ner_train_text.txt,$U/ner_devel_text.txt,$L/elife.txt.gz,$L/evidence_inference.txt.gz,$L/medquad.txt.gz,$L/hoc.txt.gz" \
      2> "$corpus.shard.log"
fi
mkdir -p "$(dirname "$run")" "$out"
echo "training; follow the log with: tail -f $run.stderr.log" >&2
set +e
"$py" "$root/tools/train_bilm.py" --shards_dir="$corpus" --run_dir="$run" "$@" \
    2>> "$run.stderr.log"
rc=$?
set -e
cp "$corpus/manifest.json" "$out/shards_manifest.json"
grep -E "Command being timed|Elapsed|Maximum resident" "$corpus.shard.log" > "$out/shard_time_v.txt" || true
cp "$run/bilm_config.json" "$run/bilm_train_config.json" "$out/"
for f in history.jsonl report.json; do
  if [ -f "$run/$f" ]; then cp "$run/$f" "$out/"; fi
done
exit $rc
