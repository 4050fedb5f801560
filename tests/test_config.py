"""Config JSON round trip and strictness."""
import os

import tensorflow as tf

from tf_bilm_ner.config import (BiLMTrainConfig, ConfigError, EncoderConfig, TaggerConfig,
                                 TrainConfig)


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
    with self.assertRaisesRegex(ConfigError, "train_on_devel .* train_fraction must be 1"):
      TrainConfig(train_on_devel=True, train_fraction=0.5).validate()
    with self.assertRaisesRegex(ConfigError, "freeze_word_embeddings .* needs init_from_bilm"):
      TrainConfig(freeze_word_embeddings=True).validate()
    with self.assertRaisesRegex(ConfigError, "encoder_frozen_epochs must be >= 0, got -1"):
      TrainConfig(encoder_frozen_epochs=-1).validate()
    TrainConfig(freeze_word_embeddings=True, init_from_bilm="b").validate()
    with self.assertRaisesRegex(ConfigError, r"x.json:1: not valid JSON"):
      TrainConfig.from_json("{nope", where="x.json")

  def test_exact_types(self):
    cases = [(EncoderConfig, {"lstm_units": 13.5}, "lstm_units: expected an integer, got 13.5"),
             (EncoderConfig, {"word_dim": True}, "word_dim: expected an integer, got True"),
             (EncoderConfig, {"dropout": "0.5"}, "dropout: expected a number, got '0.5'"),
             (TrainConfig, {"init_from_bilm": 5}, "init_from_bilm: expected a string, got 5"),
             (TrainConfig, {"seed": 1.0}, "seed: expected an integer, got 1.0"),
             (TaggerConfig, {"bilm_features": 1}, "bilm_features: expected true or false"),
             (BiLMTrainConfig, {"init_position": "yes"}, "init_position: expected true or false")]
    for cls, values, message in cases:
      with self.assertRaisesRegex(ConfigError, message):
        cls.from_dict(values)
    # An int where a float is expected is a number; the file is named in the error.
    self.assertEqual(TrainConfig.from_dict({"learning_rate": 1}).learning_rate, 1)
    with self.assertRaisesRegex(ConfigError, r"^c.json.encoder: EncoderConfig.lstm_units"):
      TaggerConfig.from_json('{"encoder": {"lstm_units": 2.0}}', where="c.json")


if __name__ == "__main__":
  tf.test.main()
