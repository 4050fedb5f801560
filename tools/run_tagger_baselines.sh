#!/usr/bin/env bash
# Random-initialisation taggers (the paper's baseline): tools/run_taggers.sh with GROUP
# tagger_random_init. The commands stored with the first results used this name.
#
#   tools/run_tagger_baselines.sh NAME DATA_DIR "SEEDS" [SHIP_PREDICTIONS] [extra train_tagger flags...]
set -euo pipefail
name=$1 data_dir=$2 seeds=$3 ship=${4:-no}
shift 4 || shift $#
exec "$(dirname "$0")/run_taggers.sh" tagger_random_init "$name" "$data_dir" "$seeds" "$ship" "$@"
