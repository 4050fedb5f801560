"""Times one sentence's BiLSTM recurrence as served, and four ways it could be computed
instead (bfloat16 recurrent kernels, XLA, the two directions on two cores), by LSTM width.

  python tools/benchmark_served_recurrence.py --units=384 --input_dim=164 \\
      --out=results/serving_profile/recurrence/u384.json

The defaults are a median NCBI-disease test sentence (26 tokens) and the shipped taggers'
LSTM input (word 100 + 64 char filters). See tf_bilm_ner/experiments/served_recurrence.py.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import time

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.experiments import served_recurrence

FLAGS = flags.FLAGS
flags.DEFINE_integer("tokens", 26, "Tokens in the sentence.", lower_bound=1)
flags.DEFINE_integer("input_dim", 164, "LSTM input width (word dim + char filters).",
                     lower_bound=1)
flags.DEFINE_integer("units", 200, "LSTM units per direction.", lower_bound=1)
flags.DEFINE_integer("calls", 200, "Timed calls per round and variant.", lower_bound=1)
flags.DEFINE_integer("rounds", 5, "Interleaved rounds (the median is reported).", lower_bound=1)
flags.DEFINE_list("variants", list(served_recurrence.VARIANTS),
                  "Variants to time (served always).")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  unknown = set(FLAGS.variants) - set(served_recurrence.VARIANTS)
  if unknown:
    raise app.UsageError(f"--variants: unknown {sorted(unknown)}; one of "
                         f"{served_recurrence.VARIANTS}")
  started = time.time()
  rows = served_recurrence.compare(FLAGS.tokens, FLAGS.input_dim, FLAGS.units, FLAGS.calls,
                                   FLAGS.rounds, FLAGS.variants, seed=1)
  for row in rows:
    logging.info("%-10s %7.3f ms/sentence  %.2fx  max state diff %.2g", row["variant"],
                 row["ms_per_sentence"], row["speed_vs_served"], row["max_state_diff"])
  shape = {k: getattr(FLAGS, k) for k in ("tokens", "input_dim", "units", "calls", "rounds")}
  result = {"rows": rows, "shape": shape,
            "provenance": provenance.record([], seed=1, started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
