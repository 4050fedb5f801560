"""BiLM pretraining end to end on tiny shards: perplexity falls, resume is a no-op when done."""
import json
import os
import subprocess
import sys
from unittest import mock

import tensorflow as tf

from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig, EncoderConfig
from tf_bilm_ner.data import corpus, lm_vocab, sharding
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.training import bilm_loop

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
CONFIG = BiLMConfig(encoder=EncoderConfig(word_dim=23, char_dim=7, char_filters=19,
                                          lstm_units=29, dropout=0.0, word_dropout=0.0),
                    num_sampled=61)
TRAIN = BiLMTrainConfig(learning_rate=0.01, batch_tokens=397, epochs=3, shuffle_buffer=101)


def train_small(shards, run_dir, strategy, **kwargs):
  """`train_bilm` at CONFIG sizes on `_shards` output, 2 epochs: the distributed tests' run."""
  pattern = os.path.join(shards, "train-*")
  vocabs = lm_vocab.build_lm_vocabularies(tf.io.gfile.glob(pattern), max_words=500)
  return bilm_loop.train_bilm(
      pattern, os.path.join(shards, "valid-*"), run_dir, CONFIG,
      BiLMTrainConfig(learning_rate=0.01, batch_tokens=794, epochs=2, shuffle_buffer=101),
      vocabs=vocabs, strategy=strategy, **kwargs)


# Runs in a fresh process: logical devices must be set before TensorFlow initialises.
MIRRORED_SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.test_bilm_training import train_small
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
history = train_small(sys.argv[1], sys.argv[2], strategy).history
print("REPLICAS", strategy.num_replicas_in_sync)
print("HISTORY " + json.dumps(history))
"""


def _shards(directory, num_shards=3):
  os.makedirs(directory, exist_ok=True)
  text = os.path.join(directory, "text.txt")
  with open(text, "w") as f:
    for s in read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv")):
      f.write(" ".join(s.tokens) + "\n")
  shards = os.path.join(directory, "shards")
  sharding.shard_corpus([text], shards, num_shards=num_shards, valid_fraction=0.1, seed=1)
  return shards


class BiLMTrainingTest(tf.test.TestCase):

  def test_two_replicas_with_mirrored_strategy(self):
    shards = _shards(os.path.join(self.get_temp_dir(), "c"))
    script = os.path.join(self.get_temp_dir(), "mirrored.py")
    with open(script, "w") as f:
      f.write(MIRRORED_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, script, shards, os.path.join(self.get_temp_dir(), "m")],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2"))
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("REPLICAS 2", proc.stdout)
    self.assertNotIn("retracing", proc.stderr)
    line = [x for x in proc.stdout.splitlines() if x.startswith("HISTORY ")][0]
    history = json.loads(line[len("HISTORY "):])
    manifest = json.load(open(os.path.join(shards, "manifest.json")))
    train_tokens = manifest["stats"]["tokens_written"] - sum(
        len(x.split()) for x in open(os.path.join(shards, "valid-00000-of-00001.txt")))
    self.assertEqual([h["tokens"] for h in history], [train_tokens] * 2)  # every token once
    for d in ("forward", "backward"):
      self.assertLess(history[1][f"valid_perplexity_{d}"], history[0][f"valid_perplexity_{d}"])

  def test_pretrain_and_resume(self):
    self.enter_context(mock.patch.object(bilm_loop, "SUMMARY_EVERY_STEPS", 2))
    shards = _shards(os.path.join(self.get_temp_dir(), "a"))
    train_pattern = os.path.join(shards, "train-*")
    vocabs = lm_vocab.build_lm_vocabularies(tf.io.gfile.glob(train_pattern), max_words=500)
    run_dir = os.path.join(self.get_temp_dir(), "bilm")
    history = bilm_loop.train_bilm(train_pattern, os.path.join(shards, "valid-*"), run_dir,
                                       CONFIG, TRAIN, vocabs=vocabs).history
    self.assertLen(history, 3)
    for d in ("forward", "backward"):
      ppl = [h[f"valid_perplexity_{d}"] for h in history]
      self.assertLess(ppl[-1], ppl[0])
      self.assertLess(ppl[-1], 150.0)  # vocabulary of 500: uniform guessing gives 500
    with open(os.path.join(run_dir, "bilm_config.json")) as f:
      self.assertEqual(json.load(f)["encoder"]["word_vocab_size"], 500)
    again = bilm_loop.train_bilm(train_pattern, os.path.join(shards, "valid-*"), run_dir,
                                     CONFIG, TRAIN, vocabs=vocabs).history
    self.assertEqual(again, history)
    tags = {}
    for name in ("train", "valid"):
      for f in tf.io.gfile.glob(os.path.join(run_dir, "tensorboard", name, "events*")):
        for event in tf.compat.v1.train.summary_iterator(f):
          for v in event.summary.value:
            tags.setdefault(f"{name}/{v.tag}", []).append(event.step)
    self.assertEqual(tags["valid/perplexity/forward"], [0, 1, 2])
    self.assertEqual(tags["train/sampled_loss/backward"], [0, 1, 2])
    steps = tags["train/steps/sampled_loss_forward"]
    self.assertGreater(len(steps), 3)
    self.assertEqual(steps, sorted(steps))
    self.assertIn("train/steps/tokens_per_sec", tags)

  def test_max_steps_stops_mid_epoch_and_resumes(self):
    shards = _shards(os.path.join(self.get_temp_dir(), "b"), num_shards=2)
    pattern = os.path.join(shards, "train-*")
    vocabs = lm_vocab.build_lm_vocabularies(tf.io.gfile.glob(pattern), max_words=300)
    run_dir = os.path.join(self.get_temp_dir(), "b")
    args = (pattern, os.path.join(shards, "valid-*"), run_dir, CONFIG,
            BiLMTrainConfig(batch_tokens=397, epochs=1, shuffle_buffer=101))
    first = bilm_loop.train_bilm(*args, vocabs=vocabs, max_steps=3).history
    self.assertTrue(first[-1]["stopped_at_max_steps"])
    self.assertEqual(first[-1]["step"], 3)
    rest = bilm_loop.train_bilm(*args, vocabs=vocabs).history
    self.assertLen(rest, 1)
    self.assertNotIn("stopped_at_max_steps", rest[0])
    self.assertGreater(rest[0]["step"], 3)
    num_batches = sum(1 for _ in corpus.lm_dataset(pattern, bilm_loop.Featurizer(
        vocabs[0], vocabs[1], CONFIG.encoder.max_chars_per_token), 397, seed=1000))
    self.assertEqual(rest[0]["step"], num_batches)  # resumed exactly where it stopped


if __name__ == "__main__":
  tf.test.main()
