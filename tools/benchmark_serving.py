"""Benchmarks an exported tagger (SavedModel) on this CPU; writes a JSON to results/.

  python tools/export_saved_model.py --run_dir=runs/ncbi_disease --export_dir=exports/ncbi
  python tools/benchmark_serving.py --saved_model=exports/ncbi/1 \
      --out=results/benchmark_serving.json

serving_default throughput (tokens/s, sentences/s) at batch sizes 1, 32 and 256
on the sentences of --data, single-sentence latency percentiles, and tag_text
throughput on documents rebuilt from --data (8 sentences each).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import serving_speed
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("saved_model", None, "A SavedModel version directory.")
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "test.tsv"), "CoNLL sentences.")
flags.DEFINE_list("batch_sizes", ["1", "32", "256"], "serving_default batch sizes.")
flags.DEFINE_integer("latency_calls", 500, "Single-sentence calls for the latency percentiles.")
flags.DEFINE_float("min_seconds", 15.0, "Time each throughput measurement at least this long.")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not os.path.exists(os.path.join(FLAGS.saved_model, "saved_model.pb")):
    raise app.UsageError(f"--saved_model: no saved_model.pb in {FLAGS.saved_model}")
  started = time.time()
  sentences = [s.tokens for s in read_conll(FLAGS.data)]
  report = serving_speed.benchmark(FLAGS.saved_model, sentences,
                                   [int(b) for b in FLAGS.batch_sizes], FLAGS.min_seconds,
                                   FLAGS.latency_calls)
  report["provenance"] = provenance.record([FLAGS.data], started=started)
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, report)


def run():
  flags.mark_flag_as_required("saved_model")
  cli.run(main)


if __name__ == "__main__":
  run()
