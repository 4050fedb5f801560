"""Our sampled softmax against tf.nn.sampled_softmax_loss on the same candidates."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner.layers import sampled_softmax

V, D, N, S = 53, 9, 13, 17


class SampledSoftmaxTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.RandomState(2)
    self.weights = tf.Variable(rng.randn(V, D).astype(np.float32))
    self.biases = tf.Variable(rng.randn(V).astype(np.float32))
    self.inputs = tf.constant(rng.randn(N, D).astype(np.float32))
    self.labels = tf.constant(rng.randint(0, 8, N), tf.int64)   # frequent ids: accidental hits
    tf.random.set_seed(4)
    self.sampled = sampled_softmax.sample_candidates(self.labels, S, V)

  def _both(self, inputs):
    with tf.GradientTape(persistent=True) as tape:
      ours = sampled_softmax.sampled_softmax_loss(self.weights, self.biases, self.labels, inputs,
                                                  S, V, sampled_values=self.sampled)
      ref = tf.nn.sampled_softmax_loss(self.weights, self.biases, self.labels[:, None],
                                       tf.cast(inputs, tf.float32), S, V,
                                       sampled_values=self.sampled)
    return ours, ref, tape

  def test_float32_equals_tensorflows(self):
    hits = tf.nn.compute_accidental_hits(self.labels[:, None], self.sampled[0], num_true=1)
    self.assertGreater(int(tf.size(hits[0])), 0)   # the case that needs removing is exercised
    ours, ref, tape = self._both(self.inputs)
    self.assertEqual(ours.dtype, tf.float32)
    self.assertAllClose(ours, ref, rtol=1e-5, atol=1e-5)
    for var in (self.weights, self.biases):
      g_ours, g_ref = tape.gradient(ours, var), tape.gradient(ref, var)
      self.assertIsInstance(g_ours, tf.IndexedSlices)   # sparse: LazyAdam's rows
      self.assertAllClose(tf.convert_to_tensor(g_ours), tf.convert_to_tensor(g_ref),
                          rtol=1e-5, atol=1e-5)

  def test_bfloat16_states_give_a_float32_loss_close_to_float32(self):
    ours, ref, tape = self._both(tf.cast(self.inputs, tf.bfloat16))
    self.assertEqual(ours.dtype, tf.float32)
    self.assertAllClose(ours, ref, rtol=0.05, atol=0.05)   # bfloat16 matmuls: 8 mantissa bits
    self.assertIsInstance(tape.gradient(ours, self.weights), tf.IndexedSlices)
    self.assertEqual(tape.gradient(ours, self.weights).values.dtype, tf.float32)


if __name__ == "__main__":
  tf.test.main()
