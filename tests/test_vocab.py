"""Vocabularies: normalisation, deterministic builds, files, in-graph lookup."""
import collections
import os

import tensorflow as tf

from tf_bilm_ner.data import vocab as vocab_lib


class VocabTest(tf.test.TestCase):

  def test_normalisation(self):
    self.assertEqual(vocab_lib.normalize_word_list(["IL-2", "Ménière", "p53", "ΑΒΓ", "1.5"]),
                     ["il-0", "ménière", "p00", "αβγ", "0.0"])

  def test_build_is_deterministic_and_frequency_ordered(self):
    counts = collections.Counter({"b": 3, "a": 3, "c": 5, "d": 1})
    v = vocab_lib.Vocabulary.build(counts, min_count=2)
    self.assertEqual(v.entries, ["<pad>", "<unk>", "c", "a", "b"])
    self.assertEqual(v.id("d"), vocab_lib.UNK_ID)
    self.assertLen(vocab_lib.Vocabulary.build(counts, max_size=4), 4)

  def test_build_vocabularies(self):
    words, chars, tags = vocab_lib.build_vocabularies(
        [["IL-2", "and", "IL-6"], ["And"]], [["B-P", "O", "B-P"], ["O"]])
    self.assertEqual(words.entries, ["<pad>", "<unk>", "and", "il-0"])
    self.assertIn("I", chars)
    self.assertEqual(tags.entries, ["O", "B-P"])

  def test_file_round_trip_and_errors(self):
    v = vocab_lib.Vocabulary(["<pad>", "<unk>", " ", "\u00a0", "x\u2028y"])
    path = os.path.join(self.get_temp_dir(), "v.txt")
    v.save(path)
    self.assertEqual(vocab_lib.Vocabulary.load(path).entries, v.entries)
    with open(path, "w") as f:
      f.write("<pad>\n<unk>\nx\nx\n")
    with self.assertRaisesRegex(vocab_lib.VocabularyError, "v.txt: vocabulary has duplicate"):
      vocab_lib.Vocabulary.load(path)
    with open(path, "w") as f:
      f.write("<pad>\n<unk>\nx")
    with self.assertRaisesRegex(vocab_lib.VocabularyError, "truncated"):
      vocab_lib.Vocabulary.load(path)
    with self.assertRaisesRegex(vocab_lib.VocabularyError, "not found"):
      vocab_lib.Vocabulary.load(path + ".missing")

  def test_lookup_table(self):
    v = vocab_lib.Vocabulary(["<pad>", "<unk>", "il-0", "and"])
    ids = v.lookup_table().lookup(vocab_lib.normalize_words(tf.constant([["IL-7", "AND", "zz"]])))
    self.assertAllEqual(ids, [[2, 3, 1]])
    tags = vocab_lib.Vocabulary(["O", "B-X"], reserved=())
    self.assertAllEqual(tags.lookup_table().lookup(tf.constant(["B-X", "B-Y"])), [1, -1])

  def test_codepoint_table_gives_each_characters_id(self):
    # Non-BMP, combining and replacement characters; the reserved entries are never a
    # character's id; a vocabulary without reserved ids answers -1.
    v = vocab_lib.Vocabulary(["<pad>", "<unk>", "a", "\u03b1", "\U0001f9ec", "\u0301", "\ufffd"])
    text = "a\u03b1b\U0001f9ec\u0301<\ufffd"
    ids = v.codepoint_table().lookup(tf.strings.unicode_decode(text, "UTF-8"))
    self.assertAllEqual(ids, [v.id(c) for c in text])
    self.assertAllEqual(ids, [2, 3, 1, 4, 5, 1, 6])
    bare = vocab_lib.Vocabulary(["x"], reserved=())
    self.assertAllEqual(bare.codepoint_table().lookup(tf.constant([ord("x"), ord("y")])), [0, -1])
    only_reserved = vocab_lib.Vocabulary(["<pad>", "<unk>"])   # no character: an empty table
    self.assertAllEqual(only_reserved.codepoint_table().lookup(tf.constant([97])), [1])


if __name__ == "__main__":
  tf.test.main()
