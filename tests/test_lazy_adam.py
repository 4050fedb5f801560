"""LazyAdam against a NumPy reference of lazy Adam, and against Keras' Adam where they agree."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import BiLMTrainConfig, ConfigError
from tf_bilm_ner.training import lazy_adam

LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-7
ROWS, DIM = 11, 3


def _reference(table, steps):
  """NumPy lazy Adam: `steps` is a list of (indices, values); only named rows move."""
  table = table.astype(np.float64).copy()
  m, v = np.zeros_like(table), np.zeros_like(table)
  for t, (indices, values) in enumerate(steps, start=1):
    g = np.zeros_like(table)
    np.add.at(g, indices, values)          # repeated indices add up
    rows = np.unique(indices)
    m[rows] = B1 * m[rows] + (1 - B1) * g[rows]
    v[rows] = B2 * v[rows] + (1 - B2) * g[rows] ** 2
    alpha = LR * np.sqrt(1 - B2 ** t) / (1 - B1 ** t)
    table[rows] -= alpha * m[rows] / (np.sqrt(v[rows]) + EPS)
  return table, m, v


def _steps(seed=3, count=5):
  rng = np.random.RandomState(seed)
  out = []
  for _ in range(count):
    indices = rng.randint(0, 6, 7)         # rows 6..10 are never reached
    indices[1] = indices[4]                # a row reached twice in one step
    out.append((indices.astype(np.int32), rng.randn(7, DIM).astype(np.float32)))
  return out


def _run(optimizer, steps, table):
  var = tf.Variable(table)
  optimizer.build([var])
  for indices, values in steps:
    optimizer.apply_gradients([(tf.IndexedSlices(tf.constant(values), tf.constant(indices),
                                                 tf.constant([ROWS, DIM])), var)])
  return var, optimizer


class LazyAdamTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.table = np.random.RandomState(0).randn(ROWS, DIM).astype(np.float32)

  def test_matches_numpy_lazy_adam_over_several_steps(self):
    steps = _steps()
    var, opt = _run(lazy_adam.LazyAdam(LR, epsilon=EPS), steps, self.table)
    want, m, v = _reference(self.table, steps)
    self.assertAllClose(var.numpy(), want, rtol=1e-5, atol=1e-6)
    self.assertAllClose(opt._momentums[0].numpy(), m, rtol=1e-5, atol=1e-6)
    self.assertAllClose(opt._velocities[0].numpy(), v, rtol=1e-5, atol=1e-7)
    self.assertAllEqual(var.numpy()[6:], self.table[6:])   # never reached: untouched

  def test_differs_from_adam_once_a_row_is_skipped(self):
    # Row 0 is reached at step 1 only: Adam keeps moving it at step 2, LazyAdam does not.
    steps = [(np.array([0, 1], np.int32), np.ones((2, DIM), np.float32)),
             (np.array([1], np.int32), np.ones((1, DIM), np.float32))]
    lazy, _ = _run(lazy_adam.LazyAdam(LR, epsilon=EPS), steps, self.table)
    adam, _ = _run(tf.keras.optimizers.Adam(LR, epsilon=EPS), steps, self.table)
    after_one, _ = _run(lazy_adam.LazyAdam(LR, epsilon=EPS), steps[:1], self.table)
    self.assertAllEqual(lazy.numpy()[0], after_one.numpy()[0])
    self.assertNotAllClose(adam.numpy()[0], lazy.numpy()[0])
    self.assertAllClose(adam.numpy()[1], lazy.numpy()[1], rtol=1e-6)  # reached at every step

  def test_dense_gradients_get_adams_update_exactly(self):
    rng = np.random.RandomState(1)
    grads = [rng.randn(ROWS, DIM).astype(np.float32) for _ in range(3)]
    out = []
    for opt in (lazy_adam.LazyAdam(LR), tf.keras.optimizers.Adam(LR)):
      var = tf.Variable(self.table)
      for g in grads:
        opt.apply_gradients([(tf.constant(g), var)])
      out.append(var.numpy())
    self.assertAllEqual(out[0], out[1])

  def test_checkpoint_layout_is_adams(self):
    var = tf.Variable(self.table)
    keys = []
    for opt in (lazy_adam.LazyAdam(LR), tf.keras.optimizers.Adam(LR)):
      opt.build([var])
      path = tf.train.Checkpoint(optimizer=opt, var=var).write(
          f"{self.get_temp_dir()}/{type(opt).__name__}")
      keys.append(sorted(k for k, _ in tf.train.list_variables(path)))
    self.assertEqual(keys[0], keys[1])

  def test_make_and_config_choices(self):
    self.assertIsInstance(lazy_adam.make("lazy_adam", LR, 5.0), lazy_adam.LazyAdam)
    self.assertNotIsInstance(lazy_adam.make("adam", LR, 5.0), lazy_adam.LazyAdam)
    with self.assertRaisesRegex(ValueError, "unknown optimizer 'sgd'"):
      lazy_adam.make("sgd", LR, 5.0)
    with self.assertRaisesRegex(ConfigError, "optimizer must be one of"):
      BiLMTrainConfig(optimizer="lazy").validate()
    with self.assertRaisesRegex(ConfigError, "precision must be one of"):
      BiLMTrainConfig(precision="float16").validate()


if __name__ == "__main__":
  tf.test.main()
