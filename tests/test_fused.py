"""Serving's one-loop BiLSTM and CRF against Keras LSTMs, tensorflow_addons and brute force."""
import itertools

import numpy as np
import tensorflow as tf
import tensorflow_addons as tfa

from tf_bilm_ner.layers import fused
from tf_bilm_ner.layers.char_cnn import FUSED_CONV_MAX_CHARS, CharCNN
from tf_bilm_ner.layers.crf import CRF
from tf_bilm_ner.layers.encoder import bidirectional


def _lstms(units, **kwargs):
  return [tf.keras.layers.LSTM(units, return_sequences=True, **kwargs) for _ in range(2)]


class FusedBiLSTMTest(tf.test.TestCase):

  def test_equals_the_keras_lstms(self):
    rng = np.random.RandomState(5)
    x = tf.constant(rng.randn(3, 7, 5).astype(np.float32))
    lengths = tf.constant([7, 2, 0], tf.int32)
    forward, backward = _lstms(9)
    # Random biases and recurrent weights, so nothing cancels by accident.
    bidirectional(forward, backward, x, lengths)
    for layer in (forward, backward):
      for v in layer.weights:
        v.assign(rng.randn(*v.shape).astype(np.float32) * 0.5)
    want = bidirectional(forward, backward, x, lengths)
    got = bidirectional(forward, backward, x, lengths, fused=True)
    graph = tf.function(lambda x, n: fused.bilstm(forward, backward, x, n))(x, lengths)
    # Two padding columns past the longest sentence: the loop stops before them (zeros).
    wide = fused.bilstm(forward, backward, tf.pad(x, [[0, 0], [0, 2], [0, 0]]), lengths)
    for w, g, h, p in zip(want, got, graph, wide):
      self.assertEqual(g.shape, w.shape)
      self.assertAllClose(g, w, atol=1e-5, rtol=1e-5)
      self.assertAllClose(h, w, atol=1e-5, rtol=1e-5)
      self.assertAllClose(p[:, :7], w, atol=1e-5, rtol=1e-5)
      self.assertAllEqual(p[:, 7:], tf.zeros([3, 2, 9]))

  def test_other_lstms_take_the_keras_path(self):
    self.assertTrue(fused.supports(_lstms(3)[0]))
    self.assertFalse(fused.supports(_lstms(3, activation="relu")[0]))
    self.assertFalse(fused.supports(_lstms(3, dtype="mixed_bfloat16")[0]))
    forward, backward = _lstms(3, activation="relu")
    x, lengths = tf.ones([2, 4, 3]), tf.constant([4, 1])
    want = bidirectional(forward, backward, x, lengths)
    for w, g in zip(want, bidirectional(forward, backward, x, lengths, fused=True)):
      self.assertAllEqual(w, g)

  def test_char_conv_equals_the_keras_convolution(self):
    rng = np.random.RandomState(3)
    for width, chars in ((3, 7), (4, 5), (1, 3), (5, 2)):  # even widths pad one more right
      with self.subTest(width=width):
        conv = tf.keras.layers.Conv1D(11, width, padding="same")
        x = tf.constant(rng.randn(6, chars, 4).astype(np.float32))
        conv.build(x.shape)
        conv.bias.assign(rng.randn(11).astype(np.float32))
        want = conv(x)
        self.assertTrue(fused.supports_conv(conv))
        self.assertAllClose(fused.char_conv(conv, x), want, atol=1e-5, rtol=1e-5)
    self.assertFalse(fused.supports_conv(tf.keras.layers.Conv1D(3, 3, padding="valid")))
    self.assertFalse(fused.supports_conv(tf.keras.layers.Conv1D(3, 3, padding="same",
                                                                activation="relu")))

  def test_char_cnn_serving_path_small_and_large(self):
    """Both sides of the size switch give the training path's features."""
    rng = np.random.RandomState(8)
    cnn = CharCNN(40, 5, 7, 3)
    for shape in ((1, 9, 6), (3, 100, 20)):  # 54 and 6,000 character positions
      with self.subTest(shape=shape):
        ids = tf.constant(rng.randint(0, 40, shape).astype(np.int32))
        want = cnn(ids)
        got = tf.function(lambda x: cnn(x, fused=True))(ids)
        self.assertAllClose(got, want, atol=1e-5, rtol=1e-5)
        # Padded to more character columns, told the real width: the same features.
        padded = tf.pad(ids, [[0, 0], [0, 0], [0, 5]])
        self.assertAllClose(cnn(padded, width=shape[2]), want, atol=1e-5, rtol=1e-5)
        self.assertAllClose(cnn(padded, fused=True, width=shape[2]), want, atol=1e-5, rtol=1e-5)
        self.assertNotAllClose(cnn(padded), want)  # without it, the last window reads id 0
    self.assertLess(54, FUSED_CONV_MAX_CHARS)
    self.assertGreater(6000, FUSED_CONV_MAX_CHARS)


def _brute_force(unary, trans):
  """log Z, marginals [n, K], best sequence and its score, enumerating K**n sequences."""
  n, k = unary.shape
  seqs = list(itertools.product(range(k), repeat=n))
  scores = np.array([sum(unary[t, y] for t, y in enumerate(s)) +
                     sum(trans[a, b] for a, b in zip(s[:-1], s[1:])) for s in seqs])
  log_z = np.logaddexp.reduce(scores)
  marginals = np.zeros((n, k))
  for s, score in zip(seqs, scores):
    marginals[np.arange(n), list(s)] += np.exp(score - log_z)
  return log_z, marginals, seqs[int(np.argmax(scores))], scores.max()


class FusedCRFTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.RandomState(11)
    self.lengths = np.array([6, 1, 0, 4, 5], np.int32)
    self.unary = rng.randn(5, 6, 3).astype(np.float32) * 2
    self.trans = rng.randn(3, 3).astype(np.float32)

  def test_against_brute_force(self):
    tags, best, marginals, log_z = fused.crf(self.unary, self.trans, self.lengths)
    for b, n in enumerate(self.lengths):
      if n == 0:
        self.assertAllEqual(tags[b], np.zeros(6))
        continue
      want_z, want_marginals, want_tags, want_best = _brute_force(self.unary[b, :n], self.trans)
      self.assertAllClose(log_z[b], want_z, rtol=1e-5)
      self.assertAllClose(marginals[b, :n], want_marginals, atol=1e-5)
      self.assertAllEqual(tags[b, :n], want_tags)
      self.assertAllEqual(tags[b, n:], np.zeros(6 - n))
      self.assertAllClose(best[b], want_best, rtol=1e-5)

  def test_padding_columns_past_the_longest_row(self):
    """The loop stops at the longest row (`fused._steps`): extra padding columns change
    nothing at the real positions."""
    want = fused.crf(self.unary, self.trans, self.lengths)
    wide = tf.pad(self.unary, [[0, 0], [0, 3], [0, 0]], constant_values=5.0)
    got = tf.function(fused.crf)(wide, self.trans, self.lengths)
    real = tf.sequence_mask(self.lengths, 6)
    self.assertAllEqual(got[0][:, :6], want[0])
    self.assertAllEqual(got[0][:, 6:], tf.zeros([5, 3], tf.int32))
    self.assertAllClose(got[1], want[1])
    self.assertAllClose(tf.where(real[..., None], got[2][:, :6], 0.0),
                        tf.where(real[..., None], want[2], 0.0), atol=1e-6)
    self.assertAllClose(got[3], want[3])

  def test_against_tensorflow_addons_in_a_graph(self):
    """Longer sentences than brute force allows; the training path's decode and the
    gradient of its log Z (the marginals serving computed before) as references."""
    rng = np.random.RandomState(2)
    unary = tf.constant(rng.randn(4, 23, 5).astype(np.float32) * 3)
    lengths = tf.constant([23, 17, 1, 9], tf.int32)
    trans = tf.constant(rng.randn(5, 5).astype(np.float32))
    got = tf.function(fused.crf)(unary, trans, lengths)
    want_tags, want_best = tfa.text.crf_decode(unary, trans, lengths)
    with tf.GradientTape() as tape:
      tape.watch(unary)
      want_z = tfa.text.crf_log_norm(unary, lengths, trans)
    want_marginals = tape.gradient(want_z, unary)
    real = tf.sequence_mask(lengths, 23)
    self.assertAllEqual(got[0], tf.where(real, want_tags, 0))
    self.assertAllClose(got[1], want_best, rtol=1e-6)
    # log-space sums near 100 here: float32 keeps about 1e-5 of them, in either method.
    self.assertAllClose(tf.where(real[..., None], got[2], 0.0), want_marginals, atol=1e-4)
    self.assertAllClose(got[3], want_z, rtol=1e-6)

  def test_ties_go_as_in_tensorflow_addons(self):
    """Scores with many equal paths (small integers): the same path as tensorflow_addons'
    position-by-position backtrack, lengths 1 to 37 (several doubling rounds)."""
    rng = np.random.RandomState(4)
    lengths = tf.constant([37, 1, 2, 3, 16, 17, 0, 33], tf.int32)
    for trial in range(5):
      unary = tf.constant(rng.randint(0, 2, (8, 37, 4)).astype(np.float32))
      trans = tf.constant(rng.randint(-1, 1, (4, 4)).astype(np.float32))
      got = tf.function(fused.crf)(unary, trans, lengths)[0]
      want = tfa.text.crf_decode(unary, trans, lengths)[0]
      self.assertAllEqual(got, tf.where(tf.sequence_mask(lengths, 37), want, 0))

  def test_crf_layer_method(self):
    crf = CRF(3)
    crf.build(self.unary.shape)
    crf.transitions.assign(self.trans)
    tags, best = crf(self.unary[:2], self.lengths[:2])
    got_tags, got_best, _, _ = crf.decode_with_marginals(self.unary[:2], self.lengths[:2])
    self.assertAllEqual(got_tags[0], tags[0])
    self.assertAllEqual(got_tags[1, :1], tags[1, :1])
    self.assertAllClose(got_best, best)


if __name__ == "__main__":
  tf.test.main()
