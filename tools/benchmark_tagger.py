"""Benchmarks tagger training and inference tokens/s on this CPU; writes a JSON to results/.

  python tools/benchmark_tagger.py --out=results/benchmark_tagger.json

Rows (default model size): model-only throughput with naive batching (a fixed
number of sentences padded to the longest) and with token-budget buckets at
several budgets, the XLA-compiled train step, and whole epochs through the
tf.data pipeline with tf.data's autotuner on and off. Reports FLOPs per token
and the fraction of this machine's measured float32 matmul ceiling.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags

from tf_bilm_ner import files, provenance
from tf_bilm_ner.config import TrainConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import training_speed
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
  variants = [(f"sentences{FLAGS.naive_batch_sentences}", 0, False)]
  variants += [("token_budget", int(b), False) for b in FLAGS.batch_tokens]
  if FLAGS.jit:
    variants.append(("token_budget", TrainConfig().batch_tokens, True))
  result = training_speed.tagger_benchmark(sentences, variants, FLAGS.infer_batch_tokens,
                                           FLAGS.pipeline_epochs, FLAGS.min_seconds)
  result["provenance"] = provenance.record([FLAGS.data], seed=0, started=started)
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
