"""Times the two LSTMs of a pretraining step (forward and gradient) computed four ways:
Keras' layers (what pretraining runs by default), the same XLA-compiled, the serving loop,
and the hoisted training loop (`train_bilm --hoisted_lstm`).

  python tools/benchmark_lstm_step.py --batch=160 --time_steps=26 --input_dim=164 \\
      --units=200 --steps=10 --out=results/bilm_speed/lstm_step.json

The defaults are the shipped BiLM's sizes (word 100 + 64 char filters in, 200 units per
direction) on a batch of 4,160 tokens, about what a 4,096-token pretraining batch holds.
See tf_bilm_ner/experiments/lstm_step.py.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import time

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.experiments import lstm_step

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 160, "Sentences per batch.")
flags.DEFINE_integer("time_steps", 26, "Tokens per sentence (all real).")
flags.DEFINE_integer("input_dim", 164, "LSTM input width (word dim + char filters).")
flags.DEFINE_integer("units", 200, "LSTM units per direction.")
flags.DEFINE_integer("steps", 10, "Timed calls per round and variant.")
flags.DEFINE_integer("rounds", 3, "Interleaved rounds (the median is reported).")
flags.DEFINE_list("variants", list(lstm_step.VARIANTS), "Variants to time (keras always).")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  unknown = set(FLAGS.variants) - set(lstm_step.VARIANTS)
  if unknown:
    raise app.UsageError(f"--variants: unknown {sorted(unknown)}; one of {lstm_step.VARIANTS}")
  started = time.time()
  rows = lstm_step.compare(FLAGS.batch, FLAGS.time_steps, FLAGS.input_dim, FLAGS.units,
                           FLAGS.steps, FLAGS.rounds, FLAGS.variants, seed=1)
  for row in rows:
    logging.info("%-10s %8.1f ms/step  %7.0f tokens/s  %.2fx  max grad diff %.2g",
                 row["variant"], row["ms_per_step"], row["tokens_per_sec"],
                 row["speed_vs_keras"], row["max_grad_diff"])
  shape = {k: getattr(FLAGS, k) for k in ("batch", "time_steps", "input_dim", "units", "steps",
                                          "rounds")}
  result = {"rows": rows, "shape": shape,
            "provenance": provenance.record([], seed=1, started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
