#!/usr/bin/env bash
# Trains and packages the shipped taggers (checkpoints/NAME) with the results table's settings,
# and stores each run's scores, history, configs and the package's manifest in
# results/shipped_taggers/NAME/ (test predictions only for NCBI-disease, which may be
# redistributed).
#
#   tools/ship_taggers.sh "disease bc5cdr gene jnlpba" [extra train_tagger flags...]
#
# Final models on train + devel (the literature's protocol; no devel score in the manifest),
# for the epochs that results/README.md's "Final models on train + devel" chose on devel:
#
#   tools/ship_taggers.sh bc5cdr --train_on_devel --max_epochs=8 --hoisted_lstm
#
# BILM (default biomed5m_10epoch): the BiLM the taggers start from, a shipped name or a path.
# PACKAGE_FLAGS: extra package_tagger flags, e.g. PACKAGE_FLAGS=--max_words=40000 to cut the word
# table of a tagger from the 100,000-word 384-unit BiLM (biomed52m_u384_3epoch) for the budget.
# Run from the repository root. SHARED_DATA (default ../shared/data): where BC5CDR, BC2GM and JNLPBA are. Each run directory
# is runs/ship/NAME: rerun the same command after an interruption and training resumes.
set -euo pipefail
names=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
D=${SHARED_DATA:-../shared/data}
bilm=${BILM:-biomed5m_10epoch}
mtl="IOB2 version of MTL-Bioinformatics-2016 (Crichton et al., BMC Bioinformatics 2017; CC BY 4.0)"
for name in $names; do
  case $name in
    disease) data=tf_bilm_ner/resources/ncbi_disease predictions=yes
      terms="NCBI-disease corpus (Dogan, Leaman and Lu, J Biomed Inform 2014), a work of the US National Library of Medicine, public domain; train/devel/test in the $mtl" ;;
    bc5cdr) data=$D/BC5CDR-IOB predictions=no
      terms="BioCreative V CDR corpus (Li et al., Database 2016), chemicals and diseases in 1,500 PubMed abstracts; train/devel/test in the $mtl. The corpus is not shipped: only weights trained on it" ;;
    gene) data=$D/BC2GM-IOB predictions=no
      terms="BioCreative II Gene Mention corpus (Smith et al., Genome Biology 2008); train/devel/test in the $mtl. The corpus is not shipped: only weights trained on it" ;;
    jnlpba) data=$D/JNLPBA predictions=no
      terms="JNLPBA 2004 shared task (Kim et al., JNLPBA workshop 2004) on the GENIA corpus, GENIA Project License (abstracts from PubMed); devel and test from the MTL-Bioinformatics-2016 repository, train rebuilt from the original standoff annotation (spyysalo/jnlpba; about 0.1% of tokens tokenised differently). The corpus is not shipped: only weights trained on it" ;;
    *) echo "ship_taggers.sh: unknown tagger '$name' (expected disease, bc5cdr, gene or jnlpba)" >&2
      exit 2 ;;
  esac
  run=runs/ship/$name out=results/shipped_taggers/$name
  mkdir -p runs/ship
  /usr/bin/time -v "$py" "$root/tools/train_tagger.py" --run_dir="$run" --data_dir="$data" \
      --init_from_bilm="$bilm" --encoder_lr_scale=0.5 --seed=1 "$@" 2> "$run.train.log" || {
    tail -3 "$run.train.log" >&2; exit 1; }
  "$py" "$root/tools/package_tagger.py" --run_dir="$run" --output_dir="checkpoints/$name" \
      --data_dir="$data" --data_terms="$terms" --overwrite ${PACKAGE_FLAGS:-}
  mkdir -p "$out"
  cp "$run/eval/scores.json" "$run/history.jsonl" "$run/tagger_config.json" \
     "$run/train_config.json" "checkpoints/$name/manifest.json" "$out/"
  if [ -f "$run/transfer.json" ]; then cp "$run/transfer.json" "$out/"; fi
  grep -E "Command being timed|Elapsed|Maximum resident" "$run.train.log" > "$out/time_v.txt" || true
  if [ "$predictions" = yes ]; then cp "$run/eval/test_predictions.conll" "$out/"; fi
done
