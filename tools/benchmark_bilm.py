"""Benchmarks BiLM training tokens/s (model only) over sampled-softmax sizes and batch budgets.

  python tools/benchmark_bilm.py --bilm_dir=runs/bilm/shared_1epoch \
      --train_shards='runs/corpus/shared_1epoch/train-*' --out=results/benchmark_bilm.json

Uses the vocabularies of an existing BiLM run directory and batches streamed from its shards.
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  words, chars = bilm_training.load_vocabs(FLAGS.bilm_dir)
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
  result = {"rows": rows, "vocabulary_size": len(words),
            "provenance": provenance.record(sorted(glob.glob(FLAGS.train_shards)), seed=0,
                                            started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  flags.mark_flags_as_required(["bilm_dir", "train_shards"])
  app.run(main)


if __name__ == "__main__":
  run()
