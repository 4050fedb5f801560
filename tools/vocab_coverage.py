"""How much of the benchmarks' text a pretraining word vocabulary covers, by vocabulary size.

  python tools/vocab_coverage.py --train_shards='runs/corpus/cased52m/train-*' \\
      --sizes=100000 --reference_vocabs=checkpoints/biomed5m_10epoch/vocab/words.txt \\
      --conll=../shared/data/NCBI-disease-IOB/train.tsv,... --out=results/vocab_coverage.json

See tf_bilm_ner/experiments/vocab_coverage.py for how vocabularies are built and coverage
counted.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import time

from absl import app, flags

from tf_bilm_ner import files, provenance
from tf_bilm_ner.experiments import vocab_coverage

FLAGS = flags.FLAGS
flags.DEFINE_string("train_shards", None, "Glob of pretraining shards.")
flags.DEFINE_list("sizes", ["50000", "100000"], "Vocabulary sizes to build and compare.")
flags.DEFINE_list("reference_vocabs", [], "Existing words.txt files to compare with.")
flags.DEFINE_list("conll", None, "CoNLL files whose tokens are counted.")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  rows = vocab_coverage.coverage_rows(FLAGS.conll, FLAGS.train_shards, FLAGS.sizes,
                                      FLAGS.reference_vocabs)
  inputs = list(FLAGS.conll) + list(FLAGS.reference_vocabs)
  result = {"rows": rows, "train_shards": FLAGS.train_shards,
            "provenance": provenance.record(inputs, started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  flags.mark_flags_as_required(["train_shards", "conll"])
  cli.run(main)


if __name__ == "__main__":
  run()
