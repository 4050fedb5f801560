"""Benchmarks tagger training and inference tokens/s on this CPU; writes a JSON to results/.

  python tools/benchmark_tagger.py --out=results/benchmark_tagger.json

Rows (default model size): model-only throughput with naive batching (a fixed
number of sentences padded to the longest) and with token-budget buckets at
several budgets, the XLA-compiled train step, and whole epochs through the
tf.data pipeline with tf.data's autotuner on and off. Reports FLOPs per token
and the fraction of this machine's measured float32 matmul ceiling.
"""
import os
import time

import tensorflow as tf
from absl import app, flags, logging

from tf_bilm_ner import benchmark, files, provenance
from tf_bilm_ner.config import EncoderConfig, TaggerConfig, TrainConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "train.tsv"), "Sentences to time on.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.DEFINE_list("batch_tokens", ["512", "1024", "2048", "4096"], "Token budgets to time.")
flags.DEFINE_integer("naive_batch_sentences", 32, "Sentences per batch for the naive row.")
flags.DEFINE_integer("infer_batch_tokens", 8192, "Inference token budget.")
flags.DEFINE_bool("jit", True, "Also try the XLA-compiled train step.")
flags.DEFINE_integer("pipeline_epochs", 4, "Whole epochs timed per autotune setting (0: skip).")
flags.DEFINE_float("min_seconds", 15.0, "Time each model-only measurement at least this long.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  sentences = read_conll(FLAGS.data)
  ceiling = benchmark.matmul_gflops()
  logging.info("matmul ceiling %.1f GFLOP/s", ceiling)
  config = TaggerConfig(encoder=EncoderConfig())
  default_budget = TrainConfig().batch_tokens
  variants = [(f"sentences{FLAGS.naive_batch_sentences}", 0, False)]
  variants += [("token_budget", int(b), False) for b in FLAGS.batch_tokens]
  if FLAGS.jit:
    variants.append(("token_budget", default_budget, True))
  rows = []
  for batching, budget, jit in variants:
    row = {"batching": batching, "batch_tokens": budget, "jit_compile": jit}
    try:
      row.update(benchmark.throughput(sentences, config, budget, FLAGS.infer_batch_tokens,
                                      batching=batching, jit_compile=jit,
                                      min_seconds=FLAGS.min_seconds))
    except tf.errors.InvalidArgumentError as err:
      # XLA on CPU cannot compile tfa's CRF gradient (tf.cond -> FakeParam): record that.
      row["error"] = str(err).strip().splitlines()[0][:300]
      logging.warning("%s failed: %s", row, row["error"])
      rows.append(row)
      continue
    row["train_fraction_of_ceiling"] = row["train_gflops"] / ceiling
    row["infer_fraction_of_ceiling"] = row["infer_gflops"] / ceiling
    logging.info("%s %d jit=%s: train %.0f tokens/s (%.1f GFLOP/s), infer %.0f tokens/s",
                 batching, budget, jit, row["train_tokens_per_sec"], row["train_gflops"],
                 row["infer_tokens_per_sec"])
    rows.append(row)
  epochs = {}
  if FLAGS.pipeline_epochs:
    for autotune in (True, False):
      tps = benchmark.epoch_throughput(sentences, config, default_budget, FLAGS.pipeline_epochs,
                                       autotune)
      epochs[f"autotune_{'on' if autotune else 'off'}"] = tps
      logging.info("whole epochs, batch_tokens %d, tf.data autotune %s: %s tokens/s",
                   default_budget, autotune, [round(x) for x in tps])
  result = {"matmul_ceiling_gflops": ceiling, "encoder_config": config.encoder.to_dict(),
            "default_batch_tokens": default_budget, "model_only": rows,
            "whole_epochs_tokens_per_sec": epochs,
            "provenance": provenance.record([FLAGS.data], seed=0, started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
