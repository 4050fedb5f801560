"""BiLM: the encoder is the tagger's (same checkpoint keys), losses against references."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import BiLMConfig, EncoderConfig, TaggerConfig
from tf_bilm_ner.data.corpus import lm_targets
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.models.tagger import Tagger

ENC = EncoderConfig(word_vocab_size=99, char_vocab_size=37, word_dim=11, char_dim=5,
                    char_filters=7, char_kernel_size=3, lstm_units=13, dropout=0.0,
                    word_dropout=0.0)


def _features(seed=0, lengths=(5, 2, 3)):
  rng = np.random.RandomState(seed)
  b, t = len(lengths), max(lengths)
  ids = np.zeros((b, t), np.int32)
  chars = np.zeros((b, t, 4), np.int32)
  for i, n in enumerate(lengths):
    ids[i, :n] = rng.randint(4, 99, n)
    chars[i, :n, :2] = rng.randint(2, 37, (n, 2))
  feats = {"token_ids": tf.constant(ids), "char_ids": tf.constant(chars),
           "lengths": tf.constant(lengths, tf.int32)}
  feats["forward_targets"], feats["backward_targets"] = lm_targets(feats["token_ids"],
                                                                   feats["lengths"])
  return feats


def _keys(model, directory):
  path = tf.train.Checkpoint(model=model).write(f"{directory}/{model.name}")
  return {k for k, _ in tf.train.list_variables(path) if k.startswith("model/encoder/")}


class BiLMTest(tf.test.TestCase):

  def test_encoder_checkpoint_keys_equal_the_taggers(self):
    bilm = BiLM(BiLMConfig(encoder=ENC, num_sampled=17), name="bilm")
    bilm.full_nll(_features())
    tagger = Tagger(TaggerConfig(encoder=ENC, num_tags=3), name="tagger")
    tagger.decode(_features())
    keys = _keys(bilm, self.get_temp_dir())
    self.assertEqual(keys, _keys(tagger, self.get_temp_dir()))
    self.assertLen(keys, 10)  # word emb, char emb, conv (2), two LSTMs (3 each)

  def test_full_nll_matches_numpy(self):
    bilm = BiLM(BiLMConfig(encoder=ENC, num_sampled=17))
    feats = _features()
    nll = bilm.full_nll(feats)
    fwd, bwd = bilm(feats, training=False)
    w, b = bilm.softmax_weights.numpy(), bilm.softmax_biases.numpy()
    for name, h in (("forward", fwd.numpy()), ("backward", bwd.numpy())):
      total = 0.0
      for i, n in enumerate(feats["lengths"].numpy()):
        for t in range(n):
          logits = w @ h[i, t] + b
          target = feats[f"{name}_targets"][i, t].numpy()
          total += np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[target]
      self.assertAllClose(nll[name], total, rtol=1e-4)
    self.assertEqual(float(nll["tokens"]), 10.0)

  def _three_steps(self, feats, **options):
    """Losses and weights after three optimiser steps of a fresh BiLM built with `options`."""
    from tf_bilm_ner.training import bilm_steps, lazy_adam
    tf.keras.utils.set_random_seed(7)
    bilm = bilm_steps.build_bilm(BiLMConfig(encoder=ENC, num_sampled=17), **options)
    step = bilm_steps.make_train_step(bilm, lazy_adam.make("adam", 0.01, 5.0),
                                      tf.distribute.get_strategy())
    tf.random.set_seed(11)  # the same sampled negatives in every run
    losses = [[float(x) for x in step(feats)] for _ in range(3)]
    for name, value in options.items():
      self.assertIs(getattr(bilm.encoder, name), value)
    return losses, [w.numpy() for w in bilm.trainable_variables]

  def test_unique_chars_and_hoisted_lstm_train_the_same(self):
    """`BiLMTrainConfig.unique_chars` (the CharCNN over a batch's distinct tokens) and
    `hoisted_lstm` (`layers/hoisted.py`): the same losses and the same weights after three
    optimiser steps as the plain encoder."""
    feats = _features(seed=4, lengths=(6, 6, 4, 5))
    chars = feats["char_ids"].numpy()
    chars[1] = chars[0]  # repeated tokens
    feats["char_ids"] = tf.constant(chars)
    plain = self._three_steps(feats)
    for options in ({"unique_chars": True}, {"hoisted_lstm": True},
                    {"unique_chars": True, "hoisted_lstm": True}):
      losses, weights = self._three_steps(feats, **options)
      self.assertAllClose(losses, plain[0], rtol=1e-5)
      for w, w_plain in zip(weights, plain[1]):
        self.assertAllClose(w, w_plain, atol=1e-5)

  def test_reference_softmax_goes_through_tensorflows_loss(self):
    """The benchmarks' `tf_softmax` setting: both directions' sampled losses come from
    `tf.nn.sampled_softmax_loss`, finite, near the model's own on the same batch."""
    from unittest import mock
    from tf_bilm_ner.training import bilm_steps
    feats = _features(seed=2)
    bilm = bilm_steps.build_bilm(BiLMConfig(encoder=ENC, num_sampled=17))
    ours = bilm.sampled_loss(feats, training=False)
    bilm.reference_softmax = True
    real = tf.nn.sampled_softmax_loss
    with mock.patch.object(tf.nn, "sampled_softmax_loss", side_effect=real) as reference:
      losses = bilm.sampled_loss(feats, training=False)
    self.assertEqual(reference.call_count, 2)
    for name in ("forward", "backward"):
      self.assertTrue(np.isfinite(float(losses[name])))
      self.assertAllClose(losses[name], ours[name], rtol=0.3)   # other negatives, same model

  def test_training_lowers_full_perplexity(self):
    tf.keras.utils.set_random_seed(1)
    bilm = BiLM(BiLMConfig(encoder=ENC, num_sampled=17))
    feats = _features(seed=2, lengths=(7, 7, 7, 7))
    before = bilm.full_nll(feats)
    opt = tf.keras.optimizers.Adam(0.02)
    for _ in range(60):
      with tf.GradientTape() as tape:
        losses = bilm.sampled_loss(feats)
        loss = losses["forward"] + losses["backward"]
      opt.apply_gradients(zip(tape.gradient(loss, bilm.trainable_variables),
                              bilm.trainable_variables))
    after = bilm.full_nll(feats)
    for name in ("forward", "backward"):
      self.assertLess(float(after[name]), 0.5 * float(before[name]))


if __name__ == "__main__":
  tf.test.main()
