"""Adam that updates a table given a sparse gradient only in the rows the gradient reaches.

BiLM pretraining updates three tables of vocabulary size at every step: the word embedding
[V, word_dim], the shared softmax weights [V, lstm_units] and biases [V]. A batch reaches a
few thousand of their rows (its words, its targets and the sampled negatives), but Keras'
Adam (2.15), given a sparse gradient, still decays the moments of every row and moves every
row (`m.assign_add(-m * (1 - beta_1))`, then `variable.assign_sub(...)` over the whole
table): at 50,000 words and 200 units that is about a third of a pretraining step on 2 CPU
cores (results/README.md, "BiLM pretraining speed").

`LazyAdam` does what `tfa.optimizers.LazyAdam` and TF1's `LazyAdamOptimizer` do: for a
sparse gradient, only the rows it names get their moments updated and move; the others keep
their moments and values until a batch reaches them again. This is not Adam: a row's moment
decays only at the steps that reach it, so a rare word's update is not spread over the steps
after it was seen. Dense gradients (LSTMs, CharCNN convolution) get Adam's update exactly.
The slots are Adam's (`m`, `v` at the variables' shapes), so checkpoints keep Adam's layout
and a run can switch between the two on resume.

Shapes: a sparse gradient is a `tf.IndexedSlices` with values [N, ...] and indices [N]
(repeated indices allowed; their values are summed first, as a dense gradient would add them).
"""
import tensorflow as tf

from tf_bilm_ner.config import OPTIMIZERS


class LazyAdam(tf.keras.optimizers.Adam):
  """`tf.keras.optimizers.Adam` whose sparse-gradient updates touch the named rows only."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    if self.amsgrad:
      raise ValueError("LazyAdam does not implement amsgrad")

  def update_step(self, gradient, variable):
    if not isinstance(gradient, tf.IndexedSlices):
      return super().update_step(gradient, variable)
    key = self._var_key(variable)
    m = self._momentums[self._index_dict[key]]
    v = self._velocities[self._index_dict[key]]
    lr = tf.cast(self.learning_rate, variable.dtype)
    local_step = tf.cast(self.iterations + 1, variable.dtype)
    beta_1_power = tf.pow(tf.cast(self.beta_1, variable.dtype), local_step)
    beta_2_power = tf.pow(tf.cast(self.beta_2, variable.dtype), local_step)
    alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    rows, position = tf.unique(gradient.indices)                          # [R], [N]
    g = tf.math.unsorted_segment_sum(gradient.values, position, tf.size(rows))  # [R, ...]
    m_rows = self.beta_1 * tf.gather(m, rows) + (1 - self.beta_1) * g
    v_rows = self.beta_2 * tf.gather(v, rows) + (1 - self.beta_2) * tf.square(g)
    m.scatter_update(tf.IndexedSlices(m_rows, rows))
    v.scatter_update(tf.IndexedSlices(v_rows, rows))
    variable.scatter_sub(tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon),
                                          rows))


def make(name: str, learning_rate: float, clip_norm: float) -> tf.keras.optimizers.Optimizer:
  """"adam" (Keras' Adam) or "lazy_adam" (`LazyAdam`), clipping by global norm."""
  if name == "adam":
    return tf.keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm)
  if name == "lazy_adam":
    return LazyAdam(learning_rate, global_clipnorm=clip_norm)
  raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")
