"""`layers/hoisted.py` against Keras' LSTM layer: states and every gradient."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner.layers import hoisted
from tf_bilm_ner.layers.encoder import bidirectional


def _lstm(units, seed, **kwargs):
  """A built Keras LSTM with random weights, the bias included (Keras starts it at 0/1)."""
  lstm = tf.keras.layers.LSTM(units, return_sequences=True, **kwargs)
  lstm(tf.zeros([1, 1, 7]))
  rng = np.random.RandomState(seed)
  for w in lstm.weights:
    w.assign(rng.normal(scale=0.4, size=w.shape))
  return lstm


class HoistedLSTMTest(tf.test.TestCase):

  def _grads(self, run, lstm, x, readout):
    with tf.GradientTape() as tape:
      tape.watch(x)
      states = run(lstm, x)
      loss = tf.reduce_sum(states * readout)
    return states, tape.gradient(loss, [x] + lstm.trainable_variables)

  def test_states_and_gradients_match_keras(self):
    rng = np.random.RandomState(3)
    for batch, steps in ((3, 5), (2, 1), (1, 4)):
      lstm = _lstm(6, seed=batch + steps)
      x = tf.constant(rng.normal(size=[batch, steps, 7]), tf.float32)
      readout = tf.constant(rng.normal(size=[batch, steps, 6]), tf.float32)
      keras_states, keras_grads = self._grads(lambda l, v: l(v), lstm, x, readout)
      states, grads = self._grads(hoisted.lstm_states, lstm, x, readout)
      self.assertAllClose(states, keras_states, atol=1e-6)
      self.assertLen(grads, 4)   # x, kernel, recurrent kernel, bias
      for i, (g, g_keras) in enumerate(zip(grads, keras_grads)):
        if i != 2 or steps > 1:  # one step never reads the recurrent kernel (h starts at 0)
          self.assertGreater(float(tf.reduce_max(tf.abs(g_keras))), 1e-3)
        self.assertAllClose(g, g_keras, atol=1e-5, rtol=1e-5)

  def test_traced_bidirectional_matches_keras_on_ragged_lengths(self):
    """Through `encoder.bidirectional` (the backward LSTM on reversed sentences), traced as
    training traces it, with padding after the shorter rows."""
    rng = np.random.RandomState(5)
    forward, backward = _lstm(4, seed=1), _lstm(4, seed=2)
    x = tf.constant(rng.normal(size=[3, 6, 7]), tf.float32)
    lengths = tf.constant([6, 2, 4])
    readout = tf.constant(rng.normal(size=[3, 6, 8]) * (np.arange(6)[None, :, None] <
                                                         np.array([6, 2, 4])[:, None, None]),
                          tf.float32)
    weights = forward.trainable_variables + backward.trainable_variables

    def step(use_hoisted):
      @tf.function
      def run(x):
        with tf.GradientTape() as tape:
          tape.watch(x)
          states = tf.concat(bidirectional(forward, backward, x, lengths,
                                           hoisted=use_hoisted), -1)
          loss = tf.reduce_sum(states * readout)
        return states, tape.gradient(loss, [x] + weights)
      return run(x)

    (keras_states, keras_grads), (states, grads) = step(False), step(True)
    real = tf.cast(readout != 0, tf.float32)   # padding positions hold no meaning
    self.assertAllClose(states * real, keras_states * real, atol=1e-6)
    for g, g_keras in zip(grads, keras_grads):
      self.assertAllClose(g, g_keras, atol=1e-5, rtol=1e-5)

  def test_supports_only_what_it_computes(self):
    self.assertTrue(hoisted.supports(_lstm(3, seed=0)))
    self.assertFalse(hoisted.supports(_lstm(3, seed=0, dropout=0.1)))
    self.assertFalse(hoisted.supports(_lstm(3, seed=0, activation="relu")))
    self.assertTrue(hoisted.supports(_lstm(3, seed=0, dtype="mixed_bfloat16")))
    self.assertFalse(hoisted.supports(_lstm(3, seed=0, dtype="mixed_float16")))

  def test_bfloat16_follows_float32_within_bfloat16_rounding(self):
    """Under mixed_bfloat16 the states come out in bfloat16 and the weights' gradients in
    float32, both within bfloat16 rounding of the float32 computation on the same weights, and
    no farther from it than Keras' own LSTM under that policy."""
    rng = np.random.RandomState(7)
    x = tf.constant(rng.normal(size=[3, 9, 7]), tf.float32)
    readout = tf.constant(rng.normal(size=[3, 9, 6]), tf.float32)
    exact = _lstm(6, seed=4)
    mixed = _lstm(6, seed=4, dtype="mixed_bfloat16")

    def run(fn, lstm):
      with tf.GradientTape() as tape:
        states = fn(lstm, x)
        loss = tf.reduce_sum(tf.cast(states, tf.float32) * readout)
      return states, tape.gradient(loss, lstm.trainable_variables)

    want, want_grads = run(lambda l, v: l(v), exact)
    states, grads = run(hoisted.lstm_states, mixed)
    keras_states, keras_grads = run(lambda l, v: l(v), mixed)
    self.assertEqual(states.dtype, tf.bfloat16)
    error = lambda a, b: float(tf.reduce_max(tf.abs(tf.cast(a, tf.float32) - b)))
    self.assertLess(error(states, want), 0.01)
    self.assertLessEqual(error(states, want), 1.5 * error(keras_states, want) + 1e-3)
    for g, g_keras, g_want in zip(grads, keras_grads, want_grads):
      self.assertEqual(g.dtype, tf.float32)
      scale = float(tf.reduce_max(tf.abs(g_want)))
      self.assertLess(error(g, g_want), 0.01 * scale)
      self.assertLessEqual(error(g, g_want), 1.5 * error(g_keras, g_want) + 1e-3 * scale)


if __name__ == "__main__":
  tf.test.main()
