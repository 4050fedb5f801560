#!/usr/bin/env bash
# Final test figures by the protocol of BioBERT and much earlier BioNLP work: the number of
# epochs is chosen on devel by a train-only run (its best epoch + 1, read from
# results/FROM_GROUP/NAME/seedK/scores.json), then a tagger with the same flags and seed trains
# on train + devel for exactly that many epochs and is scored on test. Results land in
# results/GROUP/NAME/seedK/ (tools/run_taggers.sh); each run's train_config.json and
# tagger_config.json must equal the train-only run's (check_flags says where they may differ),
# or the script stops.
#
#   tools/run_train_devel.sh GROUP NAME DATA_DIR "SEEDS" FROM_GROUP SHIP [the train-only run's flags...]
#   tools/run_train_devel.sh tagger_bilm_init_traindev ncbi_disease ../shared/data/NCBI-disease-IOB \
#       "1 2 3" tagger_bilm_init yes --init_from_bilm=biomed5m_10epoch --encoder_lr_scale=0.5
set -euo pipefail
group=$1 name=$2 data=$3 seeds=$4 from=$5 ship=$6
shift 6
here=$(dirname "$0")
py=${PYTHON:-python}
# Stops, and removes the run's results, if its train_config.json differs from the train-only
# run's in anything but max_epochs, train_on_devel and hoisted_lstm (a training-speed option:
# the same states and gradients within float32 rounding, tests/test_hoisted.py), or its
# tagger_config.json (sizes, --top_lstm_units, --bilm_features) in anything but the
# vocabulary sizes, which devel's words and characters change. An unreadable config stops the
# script with one line and removes nothing.
check_flags() {
  local rc=0
  "$py" - "$1" "$2" <<'PY' || rc=$?
import dataclasses, json, os, sys
from tf_bilm_ner.config import TaggerConfig, TrainConfig

def load(path, default):
  """The config at `path` as flat keys ("encoder.lstm_units"); keys older runs lack hold
  `default`'s values; None for a tagger_config.json older runs did not store."""
  if not os.path.exists(path) and isinstance(default, TaggerConfig):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      loaded = json.load(f)
  except (OSError, ValueError) as e:
    sys.exit(f"{path}: a readable JSON config is needed to compare the runs' flags ({e})")
  config = dataclasses.asdict(default)
  for key, value in loaded.items():
    config[key] = dict(config[key], **value) if isinstance(value, dict) else value
  flat = {}
  for key, value in config.items():
    if isinstance(value, dict):
      flat.update({f"{key}.{k}": v for k, v in value.items()})
    else:
      flat[key] = value
  return flat

differ = []
for name, default, free in (
    ("train_config.json", TrainConfig(), ("max_epochs", "train_on_devel", "hoisted_lstm")),
    ("tagger_config.json", TaggerConfig(), ("encoder.word_vocab_size", "encoder.char_vocab_size"))):
  source, final = (load(os.path.join(run, name), default) for run in sys.argv[1:])
  if source is None or final is None:
    continue  # nothing to compare
  for config in (source, final):
    if "init_from_bilm" in config:
      config["init_from_bilm"] = os.path.basename(config["init_from_bilm"])  # checkouts differ
  differ += sorted(k for k in source if k not in free and source[k] != final.get(k))
if differ:
  print(f"{sys.argv[2]}: flags differ from the train-only run's {sys.argv[1]} in {differ} "
        "(train_config.json, tagger_config.json); its results were removed", file=sys.stderr)
  sys.exit(3)
PY
  if [ "$rc" = 3 ]; then rm -r "$2"; fi   # only a run of other flags is removed
  if [ "$rc" != 0 ]; then exit 1; fi
}
for seed in $seeds; do
  source_dir=results/$from/$name/seed$seed
  out=results/$group/$name/seed$seed
  if [ -f "$out/scores.json" ]; then  # done earlier: checked again (a kill may have cut it short)
    check_flags "$source_dir" "$out"
    continue
  fi
  epochs=$("$py" - "$source_dir" <<'PY'
import json, os, sys
path = os.path.join(sys.argv[1], "scores.json")
try:
  with open(path, encoding="utf-8") as f:
    scores = json.load(f)
except (OSError, ValueError) as e:
  sys.exit(f"{path}: the train-only run's scores are needed to choose the epochs ({e})")
if scores.get("train_on_devel") or "devel" not in scores:
  sys.exit(f"{path}: not a train-only run (its epochs were not chosen on devel)")
print(scores["best_epoch"] + 1)
PY
)
  "$here/run_taggers.sh" "$group" "$name" "$data" "$seed" "$ship" --train_on_devel \
      --max_epochs="$epochs" "$@"
  check_flags "$source_dir" "$out"
done
