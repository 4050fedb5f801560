#!/usr/bin/env bash
# Continued pretraining of a shipped BiLM on a labeled corpus's own train + devel text (task-
# adaptive pretraining), then a devel probe: a tagger fine-tuned from the adapted BiLM, scored
# on devel only (--notest_eval). Issue #18, item 6: does continued pretraining help the
# benchmarks? Compare with the same probe from the BiLM as shipped.
#
#   tools/run_dapt_probe.sh NAME DATA_DIR WARMUP_STEPS EPOCHS [extra train_tagger flags...]
#   VALID_FRACTION=0.05 tools/run_dapt_probe.sh ncbi tf_bilm_ner/resources/ncbi_disease 150 12 \
#       --max_epochs=30 --patience=6
#   tools/run_dapt_probe.sh ncbi tf_bilm_ner/resources/ncbi_disease 0 0 --max_epochs=30 --patience=6
#
# EPOCHS=0: no continued pretraining, the same probe from the BiLM as shipped (the baseline).
# SEED (default 1): the tagger's seed (the continued pretraining keeps seed 1).
#
# The shipped BiLM has no softmax: the first WARMUP_STEPS steps train a new one alone, the
# encoder frozen (train_bilm --softmax_warmup_steps), then all of it trains for the rest of
# EPOCHS passes over the text. BILM (default biomed5m_10epoch): the BiLM to continue;
# VALID_FRACTION (default 0.05): lines held out for perplexity. Runs go to runs/dapt/ (each
# step is skipped once finished; rerun after a crash and the unfinished one resumes); the BiLM's
# report (per-epoch perplexity, provenance) and the probe's scores, history and configs to
# results/dapt_probes/NAME_wWARMUP_eEPOCHS[_seedK]/ (NAME_shipped[_seedK] for EPOCHS=0).
set -euo pipefail
name=$1 data=$2 warmup=$3 epochs=$4
shift 4
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
bilm=${BILM:-biomed5m_10epoch}
d=runs/dapt
mkdir -p "$d"
seed=${SEED:-1} suffix=
if [ "$seed" != 1 ]; then suffix=_s$seed; fi
text=$d/${name}_traindev.txt corpus=$d/${name}_corpus
lm=$d/${name}_bilm_w$warmup probe=$d/probe_${name}_w${warmup}e$epochs$suffix
out=results/dapt_probes/${name}_w${warmup}_e$epochs${suffix/_s/_seed}
if [ "$epochs" = 0 ]; then
  lm=$bilm probe=$d/probe_${name}_shipped$suffix out=results/dapt_probes/${name}_shipped${suffix/_s/_seed}
elif [ ! -f "$text" ]; then  # the tokens of train and devel, a sentence per line (never test)
  "$py" -c "import sys
from tf_bilm_ner.data import formats
formats.write_token_lines(sys.argv[2], [s for split in ('train', 'devel')
                                        for s in formats.read_labeled(f'{sys.argv[1]}/{split}.tsv', 'Entity')])" "$data" "$text"
fi
if [ "$epochs" != 0 ] && [ ! -f "$corpus/manifest.json" ]; then
  "$py" "$root/tools/shard_corpus.py" --inputs="$text" --output_dir="$corpus" --num_shards=4 \
      --valid_fraction="${VALID_FRACTION:-0.05}" --overwrite
fi
if [ "$(cat "$lm/history.jsonl" 2>/dev/null | wc -l)" -lt "$epochs" ]; then  # none if 0
  "$py" "$root/tools/train_bilm.py" --shards_dir="$corpus" --run_dir="$lm" \
      --init_from_bilm="$bilm" --softmax_warmup_steps="$warmup" --epochs="$epochs" \
      --num_sampled=1024 --batch_tokens=4096 --hoisted_lstm
fi
if [ ! -f "$probe/eval/scores.json" ]; then
  "$py" "$root/tools/train_tagger.py" --run_dir="$probe" --data_dir="$data" \
      --init_from_bilm="$lm" --encoder_lr_scale=0.5 --seed="$seed" --notest_eval "$@"
fi
mkdir -p "$out"
if [ "$epochs" != 0 ]; then
  cp "$lm/report.json" "$out/bilm_report.json"
  cp "$lm/bilm_train_config.json" "$out/"
  cp "$corpus/manifest.json" "$out/shards_manifest.json"
fi
cp "$probe/eval/scores.json" "$probe/history.jsonl" "$probe/tagger_config.json" \
   "$probe/train_config.json" "$out/"
if [ -f "$probe/transfer.json" ]; then cp "$probe/transfer.json" "$out/"; fi
