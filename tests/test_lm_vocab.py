"""LM vocabularies via sentencepiece: reserved ids, normalisation, frequency order, cap."""
import os

import tensorflow as tf

from tf_bilm_ner.data import lm_vocab


class LmVocabTest(tf.test.TestCase):

  def test_build(self):
    path = os.path.join(self.get_temp_dir(), "shard.txt")
    long_word = "hydroxytryptaminergic-neurotransmission"
    with open(path, "w", encoding="utf-8") as f:
      for i in range(50):
        f.write(f"The IL-{i % 7} gene of {long_word} in Ménière disease .\n")
      f.write("rare words appear once\n")
    words, chars = lm_vocab.build_lm_vocabularies([path], max_words=11, sample_lines=31)
    self.assertEqual(words.entries[:4], ["<pad>", "<unk>", "<s>", "</s>"])
    self.assertLen(words, 11)
    self.assertIn("il-0", words)           # normalised as the graph normalises
    self.assertIn(long_word, words)        # not dropped for its length
    self.assertIn("ménière", words)        # no NFKC or other rewriting
    self.assertNotIn("The", words)
    self.assertNotIn("once", words)        # capped: rare words go first
    self.assertIn("T", chars)              # characters keep their case
    self.assertIn("è", chars)
    self.assertNotIn(" ", chars)


if __name__ == "__main__":
  tf.test.main()
