"""Benchmarks tagger training and inference tokens/s on this CPU; writes a JSON to results/.

  python tools/benchmark_tagger.py --out=results/benchmark_tagger.json

Rows (default model size): model-only throughput with naive batching (a fixed
number of sentences padded to the longest) and with token-budget buckets at
several budgets, the XLA-compiled train step, and whole epochs through the
tf.data pipeline with tf.data's autotuner on and off. Reports FLOPs per token
and the fraction of this machine's measured float32 matmul ceiling.

With --hoisted_top_lstm_units it measures only Keras' LSTMs against `train_tagger
--hoisted_lstm`, interleaved (experiments/tagger_speed.py):

  python tools/benchmark_tagger.py --hoisted_top_lstm_units=0,200 \
      --out=results/tagger_speed/hoisted_lstm.json
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import tagger_speed, training_speed
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.training import fine_tuning

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "train.tsv"), "Sentences to time on.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.DEFINE_list("batch_tokens", ["512", "1024", "2048", "4096"], "Token budgets to time.")
flags.DEFINE_integer("naive_batch_sentences", 32, "Sentences per batch for the naive row.")
flags.DEFINE_integer("infer_batch_tokens", 8192, "Inference token budget.")
flags.DEFINE_bool("jit", True, "Also try the XLA-compiled train step.")
flags.DEFINE_integer("pipeline_epochs", 4, "Whole epochs timed per autotune setting (0: skip).")
flags.DEFINE_float("min_seconds", 15.0, "Time each model-only measurement at least this long.")
flags.DEFINE_list("hoisted_top_lstm_units", [], "Instead of the rows above: training tokens/s "
                  "with Keras' LSTMs against --hoisted_lstm (tools/train_tagger.py), "
                  "interleaved, for a tagger with each of these top BiLSTM sizes (0: none).")
flags.DEFINE_integer("hoisted_rounds", 5, "Interleaved rounds per setting.", lower_bound=1)
flags.DEFINE_integer("hoisted_steps_per_round", 20, "Training steps per round.", lower_bound=1)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  sentences = read_conll(FLAGS.data)
  if FLAGS.hoisted_top_lstm_units:
    result = _hoisted(sentences)
  else:
    result = _rows(sentences)
  result["provenance"] = provenance.record([FLAGS.data], seed=0, started=started)
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def _hoisted(sentences):
  if not all(u.isdigit() for u in FLAGS.hoisted_top_lstm_units):
    raise app.UsageError("--hoisted_top_lstm_units: non-negative integers, e.g. 0,200; got "
                         f"{FLAGS.hoisted_top_lstm_units}")
  budget, scale = TrainConfig().batch_tokens, fine_tuning.default_encoder_lr_scale(True)
  rows = []
  for units in FLAGS.hoisted_top_lstm_units:
    row = tagger_speed.compare(sentences, TaggerConfig(top_lstm_units=int(units)), budget,
                               FLAGS.hoisted_rounds, FLAGS.hoisted_steps_per_round, scale)
    logging.info("top_lstm_units=%s: keras %.0f, hoisted %.0f tokens/s (%.2fx); last losses "
                 "differ by %.1e", units, row["keras"]["tokens_per_sec"],
                 row["hoisted"]["tokens_per_sec"], row["speedup"], row["max_loss_difference"])
    rows.append(dict(row, top_lstm_units=int(units)))
  threads = {k: os.environ.get(k, "default")
             for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
  return {"hoisted_lstm": rows, "batch_tokens": budget, "encoder_lr_scale": scale,
          "threads": threads}


def _rows(sentences):
  variants = [(f"sentences{FLAGS.naive_batch_sentences}", 0, False)]
  variants += [("token_budget", int(b), False) for b in FLAGS.batch_tokens]
  if FLAGS.jit:
    variants.append(("token_budget", TrainConfig().batch_tokens, True))
  return training_speed.tagger_benchmark(sentences, variants, FLAGS.infer_batch_tokens,
                                         FLAGS.pipeline_epochs, FLAGS.min_seconds)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
