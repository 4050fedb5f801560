"""How much of the benchmarks' text a pretraining word vocabulary covers, by vocabulary size.

Vocabularies are built exactly as train_bilm builds them (`lm_vocab.build_lm_vocabularies`,
same sample and seed); coverage is the share of a file's tokens, normalised as the model
normalises them (lower case, digits -> 0), that are in the vocabulary (not `<unk>`).
"""
from typing import Dict, List, Sequence

from absl import logging

from tf_bilm_ner.data import lm_vocab, sharding
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import read_conll


def coverage(words: vocab_lib.Vocabulary, tokens: Sequence[str]) -> float:
  normalised = vocab_lib.normalize_word_list(tokens)
  return sum(words.id(w) != vocab_lib.UNK_ID for w in normalised) / max(len(normalised), 1)


def coverage_rows(conll: Sequence[str], train_shards: str, sizes: Sequence[int],
                  reference_vocabs: Sequence[str] = ()) -> List[Dict]:
  """One row per vocabulary (each `reference_vocabs` words.txt, then one built from the
  shards per size): its size and its coverage of each CoNLL file's tokens."""
  tokens = {p: [t for s in read_conll(p) for t in s.tokens] for p in conll}
  shards = sharding.expand_inputs([train_shards])
  vocabs = {path: vocab_lib.Vocabulary.load(path, reserved=lm_vocab.LM_RESERVED)
            for path in reference_vocabs}
  for size in sizes:
    vocabs[str(size)] = lm_vocab.build_lm_vocabularies(shards, int(size))[0]
  rows = []
  for name, words in vocabs.items():
    row = {"vocabulary": name, "size": len(words),
           "coverage": {p: round(coverage(words, t), 5) for p, t in tokens.items()}}
    logging.info("%s (%d words): %s", name, len(words), row["coverage"])
    rows.append(row)
  return rows
