"""Benchmarks tagger training and inference tokens/s on this CPU; writes a JSON to results/.

  python tools/benchmark_tagger.py --out=results/benchmark_tagger.json

Each variant is one row: batching by a token budget versus fixed sentence
counts, and XLA. Reports FLOPs per token and the fraction of the machine's
measured float32 matmul ceiling.
"""
import json
import os
import time

from absl import app, flags, logging

from tf_bilm_ner import benchmark, provenance
from tf_bilm_ner.config import EncoderConfig, TaggerConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "train.tsv"), "Sentences to time on.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.DEFINE_list("batch_tokens", ["512", "2048", "4096"], "Training token budgets to time.")
flags.DEFINE_integer("infer_batch_tokens", 8192, "Inference token budget.")
flags.DEFINE_bool("jit", True, "Also time the XLA-compiled train step at the largest budget.")
flags.DEFINE_float("min_seconds", 20.0, "Time each measurement for at least this long.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  sentences = read_conll(FLAGS.data)
  ceiling = benchmark.matmul_gflops()
  logging.info("matmul ceiling %.1f GFLOP/s", ceiling)
  config = TaggerConfig(encoder=EncoderConfig())
  rows = []
  variants = [(int(b), False) for b in FLAGS.batch_tokens]
  if FLAGS.jit:
    variants.append((max(int(b) for b in FLAGS.batch_tokens), True))
  for batch_tokens, jit in variants:
    r = benchmark.throughput(sentences, config, batch_tokens, FLAGS.infer_batch_tokens,
                             jit_compile=jit, min_seconds=FLAGS.min_seconds)
    r.update(batch_tokens=batch_tokens, jit_compile=jit,
             train_fraction_of_ceiling=r["train_gflops"] / ceiling,
             infer_fraction_of_ceiling=r["infer_gflops"] / ceiling)
    logging.info("batch_tokens %d jit %s: train %.0f tokens/s (%.1f GFLOP/s), infer %.0f "
                 "tokens/s", batch_tokens, jit, r["train_tokens_per_sec"], r["train_gflops"],
                 r["infer_tokens_per_sec"])
    rows.append(r)
  result = {"matmul_ceiling_gflops": ceiling, "encoder_config": config.encoder.to_dict(),
            "rows": rows, "provenance": provenance.record([FLAGS.data], seed=0, started=started)}
  if FLAGS.out:
    with open(FLAGS.out + ".tmp", "w") as f:
      json.dump(result, f, indent=2, sort_keys=True)
    os.replace(FLAGS.out + ".tmp", FLAGS.out)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
