"""BiLM pretraining end to end on tiny shards: perplexity falls, resume is a no-op when done."""
import json
import os

import tensorflow as tf

from tf_bilm_ner import bilm_training
from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig, EncoderConfig
from tf_bilm_ner.data import corpus, lm_vocab, sharding
from tf_bilm_ner.data.conll import read_conll

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
CONFIG = BiLMConfig(encoder=EncoderConfig(word_dim=23, char_dim=7, char_filters=19,
                                          lstm_units=29, dropout=0.0, word_dropout=0.0),
                    num_sampled=61)
TRAIN = BiLMTrainConfig(learning_rate=0.01, batch_tokens=397, epochs=3, shuffle_buffer=101)


class BiLMTrainingTest(tf.test.TestCase):

  def test_pretrain_and_resume(self):
    text = os.path.join(self.get_temp_dir(), "text.txt")
    with open(text, "w") as f:
      for s in read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv")):
        f.write(" ".join(s.tokens) + "\n")
    shards = os.path.join(self.get_temp_dir(), "shards")
    sharding.shard_corpus([text], shards, num_shards=3, valid_fraction=0.1, seed=1)
    train_pattern = os.path.join(shards, "train-*")
    vocabs = lm_vocab.build_lm_vocabularies(tf.io.gfile.glob(train_pattern), max_words=500)
    run_dir = os.path.join(self.get_temp_dir(), "bilm")
    history = bilm_training.train_bilm(train_pattern, os.path.join(shards, "valid-*"), run_dir,
                                       CONFIG, TRAIN, vocabs=vocabs)
    self.assertLen(history, 3)
    for d in ("forward", "backward"):
      ppl = [h[f"valid_perplexity_{d}"] for h in history]
      self.assertLess(ppl[-1], ppl[0])
      self.assertLess(ppl[-1], 150.0)  # vocabulary of 500: uniform guessing gives 500
    with open(os.path.join(run_dir, "bilm_config.json")) as f:
      self.assertEqual(json.load(f)["encoder"]["word_vocab_size"], 500)
    again = bilm_training.train_bilm(train_pattern, os.path.join(shards, "valid-*"), run_dir,
                                     CONFIG, TRAIN, vocabs=vocabs)
    self.assertEqual(again, history)

  def test_max_steps_stops_mid_epoch_and_resumes(self):
    text = os.path.join(self.get_temp_dir(), "t.txt")
    with open(text, "w") as f:
      for s in read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv")):
        f.write(" ".join(s.tokens) + "\n")
    shards = os.path.join(self.get_temp_dir(), "s")
    sharding.shard_corpus([text], shards, num_shards=2, valid_fraction=0.1, seed=1)
    pattern = os.path.join(shards, "train-*")
    vocabs = lm_vocab.build_lm_vocabularies(tf.io.gfile.glob(pattern), max_words=300)
    run_dir = os.path.join(self.get_temp_dir(), "b")
    args = (pattern, os.path.join(shards, "valid-*"), run_dir, CONFIG,
            BiLMTrainConfig(batch_tokens=397, epochs=1, shuffle_buffer=101))
    first = bilm_training.train_bilm(*args, vocabs=vocabs, max_steps=3)
    self.assertTrue(first[-1]["stopped_at_max_steps"])
    self.assertEqual(first[-1]["step"], 3)
    rest = bilm_training.train_bilm(*args, vocabs=vocabs)
    self.assertLen(rest, 1)
    self.assertNotIn("stopped_at_max_steps", rest[0])
    self.assertGreater(rest[0]["step"], 3)
    num_batches = sum(1 for _ in corpus.lm_dataset(pattern, bilm_training.Featurizer(
        vocabs[0], vocabs[1], CONFIG.encoder.max_chars_per_token), 397, seed=1000))
    self.assertEqual(rest[0]["step"], num_batches)  # resumed exactly where it stopped


if __name__ == "__main__":
  tf.test.main()
