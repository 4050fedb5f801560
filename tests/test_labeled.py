"""tf.data for labeled sentences: budgets, coverage, determinism, featurisation."""
import os

import numpy as np
import tensorflow as tf

from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import Sentence, read_conll
from tf_bilm_ner.data.labeled import Featurizer, LabeledData, split_long, subset

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


class LabeledTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.sents = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))
    self.words, self.chars, self.tags = vocab_lib.build_vocabularies(
        [s.tokens for s in self.sents], [s.tags for s in self.sents])
    self.featurizer = Featurizer(self.words, self.chars, max_chars_per_token=7)

  def _batches(self, seed, budget=301, shuffle=True):
    data = LabeledData(self.sents, self.featurizer, self.tags)
    return list(data.batches(budget, shuffle, seed))

  def test_every_sentence_once_within_budget(self):
    batches = self._batches(seed=3)
    seen = np.concatenate([b["index"].numpy() for b in batches])
    self.assertCountEqual(seen, range(len(self.sents)))
    for b in batches:
      shape = b["token_ids"].shape
      if shape[0] > 1:
        self.assertLessEqual(shape[0] * shape[1], 301)
      self.assertAllEqual(b["lengths"], [len(self.sents[i].tokens) for i in b["index"].numpy()])

  def test_features_match_python_lookup(self):
    b = self._batches(seed=0, shuffle=False)[5]
    for row, i in enumerate(b["index"].numpy()):
      s = self.sents[i]
      n = len(s.tokens)
      want_words = [self.words.id(w) for w in vocab_lib.normalize_word_list(s.tokens)]
      self.assertAllEqual(b["token_ids"][row, :n], want_words)
      self.assertAllEqual(b["token_ids"][row, n:], np.zeros_like(b["token_ids"][row, n:]))
      self.assertAllEqual(b["tag_ids"][row, :n], [self.tags.id(t) for t in s.tags])
      for j, tok in enumerate(s.tokens):
        want = [self.chars.id(c) for c in tok[:7]]
        got = b["char_ids"][row, j].numpy()
        self.assertAllEqual(got[:len(want)], want)
        self.assertAllEqual(got[len(want):], np.zeros(len(got) - len(want)))

  def test_characters_beyond_ascii_and_invalid_bytes(self):
    # Each token's characters are code points (U+FFFD for bytes that are not UTF-8): the ids
    # Python's str gives after decoding with errors="replace".
    chars = vocab_lib.Vocabulary(["<pad>", "<unk>", "\u00e9", "\U0001f9ec", "\ufffd", "b"])
    featurizer = Featurizer(self.words, chars, max_chars_per_token=3)
    raw = ["b\u00e9\U0001f9ecb".encode(), b"\xffb", "\u00e9".encode(), b""]
    got = featurizer(tf.constant([raw]), tf.constant([3]))["char_ids"].numpy()[0]
    for j, token in enumerate(raw[:3]):
      want = [chars.id(c) for c in token.decode("utf-8", errors="replace")[:3]]
      self.assertAllEqual(got[j], want + [0] * (3 - len(want)))
    self.assertAllEqual(got[3], [0, 0, 0])   # beyond the length: padding

  def test_cached_features_are_reused_across_epochs(self):
    data = LabeledData(self.sents, self.featurizer, self.tags)
    ids = lambda seed: sorted(tuple(r) for b in data.batches(301, True, seed)
                              for r in b["token_ids"].numpy().tolist())
    strip = lambda rows: sorted(tuple(x for x in r if x) for r in rows)
    self.assertEqual(strip(ids(1)), strip(ids(2)))

  def test_order_depends_only_on_seed(self):
    order = lambda seed: np.concatenate([b["index"].numpy() for b in self._batches(seed)])
    self.assertAllEqual(order(11), order(11))
    self.assertNotAllEqual(order(11), order(12))

  def test_unknown_tag_is_a_clear_error(self):
    with self.assertRaisesRegex(ValueError, r"tags \['B-Chemical'\] are not in the tag vocabulary"):
      LabeledData([Sentence(["x"], ["B-Chemical"])], self.featurizer, self.tags)

  def test_subset_and_split(self):
    a, b = subset(self.sents, 0.25, seed=5), subset(self.sents, 0.5, seed=5)
    self.assertLen(a, 40)
    self.assertContainsSubset([s.line for s in a], [s.line for s in b])
    self.assertEqual(subset(self.sents, 0.25, 5), a)
    pieces = split_long([Sentence(list("abcdefg"), ["O"] * 7)], 3)
    self.assertEqual([p.tokens for p in pieces], [["a", "b", "c"], ["d", "e", "f"], ["g"]])


if __name__ == "__main__":
  tf.test.main()
