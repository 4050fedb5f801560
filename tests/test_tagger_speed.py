"""Keras' LSTMs against `train_tagger --hoisted_lstm`, side by side (`experiments/tagger_speed.py`):
both settings train the same model on the same batches; the benchmark binary's flag checks."""
import os

import tensorflow as tf

from tests import helpers
from tf_bilm_ner.config import EncoderConfig, TaggerConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import tagger_speed


class TaggerSpeedTest(tf.test.TestCase):

  def test_both_settings_train_the_same_model(self):
    sentences = read_conll(os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv"))[:15]
    config = TaggerConfig(encoder=EncoderConfig(word_dim=5, char_dim=3, char_filters=4,
                                                lstm_units=7), top_lstm_units=3)
    out = tagger_speed.compare(sentences, config, batch_tokens=301, rounds=2,
                               steps_per_round=3, encoder_lr_scale=0.5)
    keras, hoisted = out["keras"], out["hoisted"]
    self.assertEqual(keras["tokens"], hoisted["tokens"])          # the same batches
    self.assertGreater(keras["tokens"], 0)
    self.assertLen(hoisted["rounds_tokens_per_sec"], 2)
    self.assertLen(hoisted["last_round_losses"], 3)
    self.assertAllClose(hoisted["last_round_losses"], keras["last_round_losses"], rtol=1e-5)
    self.assertLess(out["max_loss_difference"], 1e-4)
    self.assertAllClose(out["speedup"], hoisted["tokens_per_sec"] / keras["tokens_per_sec"])
    with self.assertRaises(ValueError):
      tagger_speed.compare(sentences, config, 301, rounds=0, steps_per_round=3,
                           encoder_lr_scale=0.5)

  def test_benchmark_refuses_a_bad_size_list(self):
    proc = helpers.run_tool("benchmark_tagger.py", "--hoisted_top_lstm_units=0,two",
                            timeout=300)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("--hoisted_top_lstm_units: non-negative integers", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
