#!/usr/bin/env bash
# Peak RSS of BiLM pretraining on the shared corpus and on a corpus 10x larger (the same three
# files, ten copies each, sharded the same way), the same number of steps on each, the same
# validation shard. Writes results/bilm_pretraining/memory_test/{x1,x10}.time_v.txt + reports.
#
#   tools/run_bilm_memory_test.sh ../shared/data/unlabeled 300 [SIZES] [OUT_NAME]
#   tools/run_bilm_memory_test.sh ../shared/data/unlabeled 1400 x10 memory_test_1400
# SIZES defaults to "x1 x10"; OUT_NAME (default memory_test) is the folder under
# results/bilm_pretraining/.
set -euo pipefail
data=$1 steps=$2 sizes=${3:-x1 x10} name=${4:-memory_test}
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
out=results/bilm_pretraining/$name
mkdir -p runs/corpus_src_x10 "$out"
inputs_x1="$data/external_biomed_text.txt,$data/ner_train_text.txt,$data/ner_devel_text.txt"
inputs_x10=""
for k in $(seq 1 10); do
  for f in external_biomed_text ner_train_text ner_devel_text; do
    [ -f "runs/corpus_src_x10/$f.$k.txt" ] || cp "$data/$f.txt" "runs/corpus_src_x10/$f.$k.txt"
    inputs_x10="$inputs_x10${inputs_x10:+,}runs/corpus_src_x10/$f.$k.txt"
  done
done
for size in $sizes; do
  inputs=inputs_$size
  [ -f "runs/corpus/mem_$size/manifest.json" ] || "$py" "$root/tools/shard_corpus.py" \
      --inputs="${!inputs}" --output_dir="runs/corpus/mem_$size" --num_shards=16 \
      --valid_fraction=0.01 --seed=1 --overwrite
  [ -f "runs/corpus/mem_x1/manifest.json" ] || "$py" "$root/tools/shard_corpus.py" \
      --inputs="$inputs_x1" --output_dir=runs/corpus/mem_x1 --num_shards=16 \
      --valid_fraction=0.01 --seed=1 --overwrite
  /usr/bin/time -v "$py" "$root/tools/train_bilm.py" --train_shards="runs/corpus/mem_$size/train-*" \
      --valid_shards="runs/corpus/mem_x1/valid-*" --run_dir="runs/bilm/mem_$size" \
      --max_steps="$steps" --overwrite 2> "runs/bilm/mem_$size.stderr.log"
  grep -E "Maximum resident set size|Elapsed \(wall clock\)" "runs/bilm/mem_$size.stderr.log" \
      > "$out/$size.time_v.txt"
  cp "runs/bilm/mem_$size/report.json" "$out/$size.report.json"
  cp "runs/corpus/mem_$size/manifest.json" "$out/$size.shards_manifest.json"
done
cat "$out"/*.time_v.txt
