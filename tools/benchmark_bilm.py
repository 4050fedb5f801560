"""Benchmarks BiLM training speed, and what a faster setting costs in perplexity.

Model only, over sampled-softmax sizes and batch budgets (--grid):

  python tools/benchmark_bilm.py --bilm_dir=runs/bilm/shared_1epoch \
      --train_shards='runs/corpus/shared_1epoch/train-*' --out=results/benchmark_bilm.json

Side by side, each setting trained from the same initial weights for --steps steps through
the input pipeline, then its full-softmax validation perplexity (--settings, entries
precision:optimizer:num_sampled:batch_tokens):

  python tools/benchmark_bilm.py --bilm_dir=checkpoints/biomed5m_10epoch \
      --train_shards='runs/corpus/shared/train-*' --valid_shards='runs/corpus/shared/valid-*' \
      --settings=float32:adam:1024:4096,float32:lazy_adam:1024:4096 --steps=300 \
      --out=results/benchmark_bilm_training.json

Uses the vocabularies of an existing BiLM run directory (or shipped BiLM).
"""
import glob
import time

from absl import app, flags, logging

from tf_bilm_ner import benchmark, bilm_training, files, provenance
from tf_bilm_ner.config import BiLMConfig, EncoderConfig

FLAGS = flags.FLAGS
flags.DEFINE_string("bilm_dir", None, "A train_bilm run directory (for its vocabularies).")
flags.DEFINE_string("train_shards", None, "Glob of training shards.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.DEFINE_list("grid", ["1024:4096", "512:4096", "256:4096", "1024:8192", "512:8192",
                           "256:8192"], "num_sampled:batch_tokens pairs.")
flags.DEFINE_integer("num_batches", 40, "Distinct batches cycled through.")
flags.DEFINE_float("min_seconds", 15.0, "Time each setting at least this long.")
flags.DEFINE_list("settings", None, "precision:optimizer:num_sampled:batch_tokens entries to "
                  "train side by side for --steps steps each (instead of --grid).")
flags.DEFINE_string("valid_shards", None, "Glob of validation shards (with --settings).")
flags.DEFINE_integer("steps", 300, "Steps per setting (with --settings).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  words, chars = bilm_training.load_vocabs(FLAGS.bilm_dir)
  rows = _settings(words, chars) if FLAGS.settings else _grid(words, chars)
  result = {"rows": rows, "vocabulary_size": len(words),
            "provenance": provenance.record(sorted(glob.glob(FLAGS.train_shards)), seed=1,
                                            started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def _settings(words, chars):
  if not FLAGS.valid_shards:
    raise app.UsageError("--settings needs --valid_shards")
  try:
    settings = [benchmark.BiLMSetting.parse(s) for s in FLAGS.settings]
  except ValueError as err:
    raise app.UsageError(str(err)) from None
  rows = []
  for setting in settings:
    config = BiLMConfig(encoder=EncoderConfig(dropout=0.1, word_dropout=0.0))
    r = benchmark.bilm_training_run(FLAGS.train_shards, FLAGS.valid_shards, config, words, chars,
                                    setting, FLAGS.steps)
    logging.info("%s: %.0f tokens/s; after %d steps valid perplexity forward %.1f backward %.1f",
                 setting, r["train_tokens_per_sec"], FLAGS.steps, r["valid_perplexity_forward"],
                 r["valid_perplexity_backward"])
    rows.append(r)
  return rows


def _grid(words, chars):
  rows = []
  for pair in FLAGS.grid:
    num_sampled, batch_tokens = (int(x) for x in pair.split(":"))
    config = BiLMConfig(encoder=EncoderConfig(dropout=0.1, word_dropout=0.0),
                        num_sampled=num_sampled)
    r = benchmark.bilm_throughput(FLAGS.train_shards, config, words, chars, batch_tokens,
                                  FLAGS.num_batches, FLAGS.min_seconds)
    r.update(num_sampled=num_sampled, batch_tokens=batch_tokens)
    logging.info("num_sampled %d batch_tokens %d: %.0f tokens/s", num_sampled, batch_tokens,
                 r["train_tokens_per_sec"])
    rows.append(r)
  return rows


def run():
  flags.mark_flags_as_required(["bilm_dir", "train_shards"])
  app.run(main)


if __name__ == "__main__":
  run()
