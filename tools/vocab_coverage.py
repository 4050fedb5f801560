"""How much of the benchmarks' text a pretraining word vocabulary covers, by vocabulary size.

  python tools/vocab_coverage.py --train_shards='runs/corpus/cased52m/train-*' \\
      --sizes=100000 --reference_vocabs=checkpoints/biomed5m_10epoch/vocab/words.txt \\
      --conll=../shared/data/NCBI-disease-IOB/train.tsv,... --out=results/vocab_coverage.json

Vocabularies are built exactly as train_bilm builds them (`lm_vocab.build_lm_vocabularies`,
same sample and seed); coverage is the share of a file's tokens, normalised as the model
normalises them (lower case, digits -> 0), that are in the vocabulary (not `<unk>`).
"""
import time

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data import lm_vocab, sharding
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import read_conll

FLAGS = flags.FLAGS
flags.DEFINE_string("train_shards", None, "Glob of pretraining shards.")
flags.DEFINE_list("sizes", ["50000", "100000"], "Vocabulary sizes to build and compare.")
flags.DEFINE_list("reference_vocabs", [], "Existing words.txt files to compare with.")
flags.DEFINE_list("conll", None, "CoNLL files whose tokens are counted.")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def coverage(words, tokens) -> float:
  normalised = vocab_lib.normalize_word_list(tokens)
  return sum(words.id(w) != vocab_lib.UNK_ID for w in normalised) / max(len(normalised), 1)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  tokens = {p: [t for s in read_conll(p) for t in s.tokens] for p in FLAGS.conll}
  shards = sharding.expand_inputs([FLAGS.train_shards])
  vocabs = {}
  for path in FLAGS.reference_vocabs:
    vocabs[path] = vocab_lib.Vocabulary.load(path, reserved=lm_vocab.LM_RESERVED)
  for size in FLAGS.sizes:
    vocabs[size] = lm_vocab.build_lm_vocabularies(shards, int(size))[0]
  rows = []
  for name, words in vocabs.items():
    row = {"vocabulary": name, "size": len(words),
           "coverage": {p: round(coverage(words, t), 5) for p, t in tokens.items()}}
    logging.info("%s (%d words): %s", name, len(words), row["coverage"])
    rows.append(row)
  inputs = list(FLAGS.conll) + list(FLAGS.reference_vocabs)
  result = {"rows": rows, "train_shards": FLAGS.train_shards,
            "provenance": provenance.record(inputs, started=started)}
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  flags.mark_flags_as_required(["train_shards", "conll"])
  app.run(main)


if __name__ == "__main__":
  run()
