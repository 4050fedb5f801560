"""Benchmarks BiLM training speed, and what a faster setting costs in perplexity.

Model only, over sampled-softmax sizes and batch budgets (--grid):

  python tools/benchmark_bilm.py --bilm_dir=runs/bilm/shared_1epoch \
      --train_shards='runs/corpus/shared_1epoch/train-*' --out=results/benchmark_bilm.json

Side by side, each setting trained from the same initial weights for --steps steps through
the input pipeline, then its full-softmax validation perplexity (--settings, entries
precision:optimizer:num_sampled:batch_tokens, optionally :unique for the CharCNN on each
batch's distinct tokens, :hoisted for the LSTMs of layers/hoisted.py, :tf_softmax for
tf.nn.sampled_softmax_loss in place of layers/sampled_softmax.py):

  python tools/benchmark_bilm.py --bilm_dir=checkpoints/biomed5m_10epoch \
      --train_shards='runs/corpus/shared/train-*' --valid_shards='runs/corpus/shared/valid-*' \
      --settings=float32:adam:1024:4096,float32:lazy_adam:1024:4096 --steps=300 \
      --out=results/benchmark_bilm_training.json

Uses the vocabularies of an existing BiLM run directory (or shipped BiLM).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import glob
import time

from absl import app, flags

from tf_bilm_ner import files, provenance
from tf_bilm_ner.experiments import bilm_speed, training_speed
from tf_bilm_ner.training import bilm_loop

FLAGS = flags.FLAGS
flags.DEFINE_string("bilm_dir", None, "A train_bilm run directory (for its vocabularies).")
flags.DEFINE_string("train_shards", None, "Glob of training shards.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.DEFINE_list("grid", ["1024:4096", "512:4096", "256:4096", "1024:8192", "512:8192",
                           "256:8192"], "num_sampled:batch_tokens pairs.")
flags.DEFINE_integer("num_batches", 40, "Distinct batches cycled through.")
flags.DEFINE_float("min_seconds", 15.0, "Time each setting at least this long.")
flags.DEFINE_list("settings", None, "precision:optimizer:num_sampled:batch_tokens[:unique]"
                  "[:hoisted][:tf_softmax] "
                  "entries to train side by side for --steps steps each (instead of --grid).")
flags.DEFINE_string("valid_shards", None, "Glob of validation shards (with --settings).")
flags.DEFINE_integer("steps", 300, "Steps per setting (with --settings).")
flags.DEFINE_integer("interleave_steps", 0, "With --settings: 0 trains one setting after "
                     "another; K > 0 runs K steps of each in turn (the same minutes of the "
                     "machine for every setting; experiments/bilm_speed.py).", lower_bound=0)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if FLAGS.settings and not FLAGS.valid_shards:
    raise app.UsageError("--settings needs --valid_shards")
  if FLAGS.settings and FLAGS.steps <= bilm_speed.WARMUP_STEPS:
    raise app.UsageError(f"--steps must exceed the {bilm_speed.WARMUP_STEPS} untimed warm-up "
                         f"steps, got {FLAGS.steps}")
  for setting in FLAGS.settings or ():
    try:
      bilm_speed.BiLMSetting.parse(setting)
    except ValueError as err:
      raise app.UsageError(f"--settings: {err}") from None
  started = time.time()
  words, chars = bilm_loop.load_vocabs(FLAGS.bilm_dir)
  if FLAGS.settings:
    rows = bilm_speed.bilm_settings(FLAGS.train_shards, FLAGS.valid_shards, words, chars,
                                    FLAGS.settings, FLAGS.steps,
                                    interleave_steps=FLAGS.interleave_steps)
  else:
    rows = training_speed.bilm_grid(FLAGS.train_shards, words, chars, FLAGS.grid,
                                    FLAGS.num_batches, FLAGS.min_seconds)
  result = {"rows": rows, "vocabulary_size": len(words),
            "provenance": provenance.record(sorted(glob.glob(FLAGS.train_shards)), seed=1,
                                            started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  flags.mark_flags_as_required(["bilm_dir", "train_shards"])
  cli.run(main)


if __name__ == "__main__":
  run()
