"""The tagger's train step: an encoder learning-rate scale is Adam at a scaled learning rate."""
import dataclasses

import numpy as np
import tensorflow as tf

from tests.test_layers import ENC, _features
from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training.tagger_steps import make_train_step

CONFIG = TaggerConfig(encoder=dataclasses.replace(ENC, dropout=0.0, word_dropout=0.0), num_tags=5)


def _step(scale, steps=2):
  """Variables before and after `steps` steps from the same initialisation and batch."""
  tf.keras.utils.set_random_seed(7)
  tagger = Tagger(CONFIG)
  feats = _features(np.random.RandomState(3), [5, 3])
  feats["tag_ids"] = tf.constant([[1, 2, 0, 3, 4], [4, 0, 1, 0, 0]], tf.int32)
  tagger.build_from_features(feats)
  names = [v.name.split("/", 1)[1] for v in tagger.trainable_variables]  # without tagger_N/
  before = dict(zip(names, (v.numpy() for v in tagger.trainable_variables)))
  optimizer = tf.keras.optimizers.Adam(0.01)
  step = make_train_step(tagger, optimizer, encoder_lr_scale=scale)
  for _ in range(steps):
    step(feats)
  return before, dict(zip(names, (v.numpy() for v in tagger.trainable_variables)))


class TrainStepTest(tf.test.TestCase):

  def test_encoder_lr_scale(self):
    before, full = _step(1.0, steps=1)
    _, half = _step(0.5, steps=1)
    _, frozen = _step(0.0, steps=1)
    for name, b in before.items():
      if name.startswith("encoder/"):
        self.assertAllEqual(frozen[name], b, msg=name)
        self.assertAllClose(half[name] - b, 0.5 * (full[name] - b), atol=1e-6, msg=name)
        self.assertGreater(np.abs(full[name] - b).max(), 0, msg=name)
      else:  # projection and CRF take the full step in every case
        self.assertAllClose(half[name], full[name], atol=1e-6, msg=name)
        self.assertAllClose(frozen[name], full[name], atol=1e-6, msg=name)


if __name__ == "__main__":
  tf.test.main()
