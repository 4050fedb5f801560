"""Config JSON round trip and strictness."""
import os

import tensorflow as tf

from tf_bilm_ner.config import ConfigError, EncoderConfig, TaggerConfig, TrainConfig


class ConfigTest(tf.test.TestCase):

  def test_round_trip(self):
    cfg = TaggerConfig(encoder=EncoderConfig(word_vocab_size=99, char_vocab_size=37,
                                             lstm_units=13), num_tags=5)
    path = os.path.join(self.get_temp_dir(), "c.json")
    cfg.save(path)
    self.assertEqual(TaggerConfig.load(path), cfg)
    self.assertEqual(TrainConfig.from_json(TrainConfig(seed=7).to_json()), TrainConfig(seed=7))

  def test_unknown_keys_and_bad_values(self):
    with self.assertRaisesRegex(ConfigError, r"TaggerConfig.encoder: unknown key\(s\) \['lstm_unit'\]"):
      TaggerConfig.from_dict({"encoder": {"lstm_unit": 3}})
    with self.assertRaisesRegex(ConfigError, "dropout must be in"):
      EncoderConfig.from_dict({"dropout": 1.5})
    with self.assertRaisesRegex(ConfigError, "train_fraction"):
      TrainConfig(train_fraction=0.0).validate()
    with self.assertRaisesRegex(ConfigError, r"x.json:1: not valid JSON"):
      TrainConfig.from_json("{nope", where="x.json")


if __name__ == "__main__":
  tf.test.main()
