"""The tagger's train step: an encoder learning-rate scale is Adam at a scaled learning rate;
`TrainConfig.hoisted_lstm` trains the same weights as Keras' LSTMs."""
import dataclasses
import json
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.helpers import TESTDATA
from tests.test_layers import ENC, _features
from tf_bilm_ner.config import EncoderConfig, TaggerConfig, TrainConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.layers import hoisted
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import row_adam
from tf_bilm_ner.training import tagger_loop
from tf_bilm_ner.training.tagger_steps import make_train_step

CONFIG = TaggerConfig(encoder=dataclasses.replace(ENC, dropout=0.0, word_dropout=0.0), num_tags=5)


def _built_tagger(config=CONFIG):
  """A tagger built from seed 7 and the one batch every test here trains on."""
  tf.keras.utils.set_random_seed(7)
  tagger = Tagger(config)
  feats = _features(np.random.RandomState(3), [5, 3])
  feats["tag_ids"] = tf.constant([[1, 2, 0, 3, 4], [4, 0, 1, 0, 0]], tf.int32)
  tagger.build_from_features(feats)
  return tagger, feats


def _step(scale, steps=2, config=CONFIG, hoisted_lstm=False, losses=None):
  """Variables before and after `steps` steps from the same initialisation and batch
  (`losses`: a list that gets each step's loss)."""
  tagger, feats = _built_tagger(config)
  tagger.use_hoisted_lstm(hoisted_lstm)
  names = [v.name.split("/", 1)[1] for v in tagger.trainable_variables]  # without tagger_N/
  before = dict(zip(names, (v.numpy() for v in tagger.trainable_variables)))
  optimizer = tf.keras.optimizers.Adam(0.01)
  step = make_train_step(tagger, optimizer, encoder_lr_scale=scale)
  for _ in range(steps):
    loss = step(feats)
    if losses is not None:
      losses.append(float(loss))
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

  def test_scale_variable_read_at_every_step(self):
    """A tf.Variable scale: the traced step reads its current value (0 freezes the encoder)."""
    tagger, feats = _built_tagger()
    scale = tf.Variable(0.0)
    step = make_train_step(tagger, tf.keras.optimizers.Adam(0.01), encoder_lr_scale=scale)
    encoder = lambda: [v.numpy() for v in tagger.encoder.trainable_variables]
    crf = lambda: tagger.trainable_variables[-1].numpy()
    start, crf_start = encoder(), crf()
    step(feats)
    for a, b in zip(start, encoder()):
      self.assertAllEqual(a, b)
    self.assertNotAllClose(crf(), crf_start)
    scale.assign(0.5)
    step(feats)
    self.assertTrue(any(np.abs(a - b).max() > 0 for a, b in zip(start, encoder())))

  def test_frozen_variables_never_move(self):
    """`frozen` (freeze_word_embeddings): no update, with Adam and with RowRestrictedAdam."""
    for restricted in (False, True):
      tagger, feats = _built_tagger()
      table = tagger.encoder.word_embedding.embeddings
      if restricted:
        optimizer = row_adam.RowRestrictedAdam(0.01)
        optimizer.build(tagger.trainable_variables)
        optimizer.restrict(table, np.arange(table.shape[0] // 2))
      else:
        optimizer = tf.keras.optimizers.Adam(0.01)
      start = [v.numpy() for v in tagger.trainable_variables]
      step = make_train_step(tagger, optimizer, encoder_lr_scale=0.5, frozen=[table])
      for _ in range(2):
        step(feats)
      for v, s in zip(tagger.trainable_variables, start):
        if v is table:
          self.assertAllEqual(v.numpy(), s)
        else:
          self.assertGreater(np.abs(v.numpy() - s).max(), 0, msg=v.name)

  def test_encoder_frozen_epochs(self):
    """`TrainConfig.encoder_frozen_epochs`: the encoder does not move in the first epochs,
    the layers above it do; then it learns."""
    train = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))[:12]
    config = TaggerConfig(encoder=EncoderConfig(word_dim=5, char_dim=3, char_filters=4,
                                                lstm_units=7))
    moved = []  # per epoch: (encoder moved, the rest moved)
    original = tagger_loop._TaggerRun.train_epoch  # pylint: disable=protected-access

    def record(run):
      parts = [[v.numpy() for v in vs] for vs in (run.tagger.encoder.trainable_variables,
                                                   run.tagger.trainable_variables)]
      original(run)
      moved.append(tuple(any(np.abs(a - v.numpy()).max() > 0 for a, v in zip(p, vs))
                         for p, vs in zip(parts, (run.tagger.encoder.trainable_variables,
                                                  run.tagger.trainable_variables))))
    with mock.patch.object(tagger_loop._TaggerRun, "train_epoch", autospec=True,
                           side_effect=record):
      tagger_loop.train_tagger(train, train, os.path.join(self.get_temp_dir(), "run"), config,
                               TrainConfig(max_epochs=3, batch_tokens=300, patience=9,
                                           encoder_lr_scale=0.5, encoder_frozen_epochs=2))
    self.assertEqual(moved, [(False, True), (False, True), (True, True)])

  def test_hoisted_lstm_trains_the_same(self):
    """`TrainConfig.hoisted_lstm`: the encoder's and the top BiLSTM's LSTMs through
    `layers/hoisted.py`, the same losses and weights after three steps as Keras' LSTMs."""
    config = dataclasses.replace(CONFIG, top_lstm_units=3)
    plain_losses, hoisted_losses = [], []
    _, plain = _step(0.5, steps=3, config=config, losses=plain_losses)
    with mock.patch.object(hoisted, "lstm_states", side_effect=hoisted.lstm_states) as used:
      _, fast = _step(0.5, steps=3, config=config, hoisted_lstm=True, losses=hoisted_losses)
    self.assertEqual({call.args[0].name for call in used.call_args_list},
                     {"forward_lstm", "backward_lstm", "top_forward_lstm", "top_backward_lstm"})
    self.assertAllClose(hoisted_losses, plain_losses, rtol=1e-5)
    self.assertNotAllClose(plain_losses[0], plain_losses[-1])  # it trained
    for name, w in plain.items():
      self.assertAllClose(fast[name], w, atol=1e-5, msg=name)

  def test_use_hoisted_lstm_needs_built_variables(self):
    with self.assertRaisesRegex(ValueError, "build_from_features"):
      Tagger(CONFIG).use_hoisted_lstm()

  def test_train_tagger_uses_it_when_asked(self):
    train = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))[:12]
    run_dir = os.path.join(self.get_temp_dir(), "run")
    config = TaggerConfig(encoder=EncoderConfig(word_dim=5, char_dim=3, char_filters=4,
                                                lstm_units=7))
    with mock.patch.object(Tagger, "use_hoisted_lstm", autospec=True,
                           side_effect=Tagger.use_hoisted_lstm) as use:
      tagger_loop.train_tagger(train, train, run_dir, config,
                               TrainConfig(max_epochs=1, batch_tokens=300, hoisted_lstm=True))
    self.assertEqual(use.call_args.args[1:], (True,))
    self.assertTrue(use.call_args.args[0].encoder.hoisted_lstm)
    with open(os.path.join(run_dir, "train_config.json")) as f:
      self.assertIs(json.load(f)["hoisted_lstm"], True)


if __name__ == "__main__":
  tf.test.main()
