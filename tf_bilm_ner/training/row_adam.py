"""Adam that updates an embedding table only in the rows the training data can reach.

A tagger initialised from a BiLM keeps the BiLM's whole word vocabulary (50,000 rows and
more) so that words seen only in devel, test or served text keep their pretrained rows, but
training text reaches only the rows of its own words (NCBI-disease: 7,600). Keras' Adam
(2.15) given a sparse gradient still updates every row of the table at every step
(`m.assign_add(-m * (1 - beta_1))`, then `variable.assign_sub(...)` over the whole
table), which made BiLM-initialised training 1.4-1.7x slower per token than random
initialisation (results/README.md).

A row that no gradient has reached has m = v = 0, so Adam's update of it is exactly 0 and
it keeps its value. `RowRestrictedAdam` therefore does Adam's sparse-gradient arithmetic,
in the same order, on the rows listed by `restrict` only, and leaves the others alone: the
same variables as `tf.keras.optimizers.Adam` (tests/test_row_adam.py checks this bit for
bit), with the slots at their full shape, so checkpoints are unchanged and a run started
with one optimiser resumes with the other. A gradient reaching a row outside the list is
an error (it would otherwise be silently dropped; under XLA, where the optimiser step is
compiled on GPU, the check is a no-op).
"""
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.data import vocab as vocab_lib


def reachable_rows(words: vocab_lib.Vocabulary, sentences_tokens: Iterable[Sequence[str]]
                   ) -> np.ndarray:
  """Sorted word ids the featurizer gives these tokens, plus `<pad>` and `<unk>`: int32 [R].

  `<unk>` is in because word dropout maps real words to it in training; `<pad>` because
  padded positions are looked up too (their gradient is zero).
  """
  flat = vocab_lib.normalize_word_list([t for toks in sentences_tokens for t in toks])
  ids = {words.id(w) for w in flat} | {vocab_lib.PAD_ID, vocab_lib.UNK_ID}
  return np.array(sorted(ids), dtype=np.int32)


class RowRestrictedAdam(tf.keras.optimizers.Adam):
  """`tf.keras.optimizers.Adam` that updates restricted tables only in their listed rows."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    if self.amsgrad:
      raise ValueError("RowRestrictedAdam does not implement amsgrad")
    self._restricted = {}  # variable key -> (rows [R] int32, position of each row [V] int32)

  def restrict(self, variable: tf.Variable, rows: np.ndarray) -> None:
    """From now on, updates `variable` [V, D] only in `rows` (int [R], unique, in [0, V))."""
    rows = np.asarray(rows, dtype=np.int32)
    num_rows = int(variable.shape[0])
    if (rows.ndim != 1 or len(np.unique(rows)) != len(rows) or
        (len(rows) and (rows.min() < 0 or rows.max() >= num_rows))):
      raise ValueError(f"rows for {variable.name} must be unique ids in [0, {num_rows})")
    position = np.full([num_rows], -1, dtype=np.int32)
    position[rows] = np.arange(len(rows), dtype=np.int32)
    self._restricted[self._var_key(variable)] = (tf.constant(rows), tf.constant(position))

  def update_step(self, gradient, variable):
    key = self._var_key(variable)
    if key not in self._restricted or not isinstance(gradient, tf.IndexedSlices):
      return super().update_step(gradient, variable)
    rows, position = self._restricted[key]
    # Adam.update_step's sparse branch, term for term, on the rows [R, D] only.
    lr = tf.cast(self.learning_rate, variable.dtype)
    local_step = tf.cast(self.iterations + 1, variable.dtype)
    beta_1_power = tf.pow(tf.cast(self.beta_1, variable.dtype), local_step)
    beta_2_power = tf.pow(tf.cast(self.beta_2, variable.dtype), local_step)
    m = self._momentums[self._index_dict[key]]
    v = self._velocities[self._index_dict[key]]
    alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    at = tf.gather(position, gradient.indices)
    tf.debugging.assert_non_negative(
        at, message=f"a gradient reached a row of {variable.name} outside the rows given to "
        "RowRestrictedAdam.restrict (reachable_rows of the training data)")
    at = at[:, None]
    m_rows = tf.gather(m, rows)
    m_rows = m_rows + -m_rows * (1 - self.beta_1)
    m_rows = tf.tensor_scatter_nd_add(m_rows, at, gradient.values * (1 - self.beta_1))
    v_rows = tf.gather(v, rows)
    v_rows = v_rows + -v_rows * (1 - self.beta_2)
    v_rows = tf.tensor_scatter_nd_add(v_rows, at, tf.square(gradient.values) * (1 - self.beta_2))
    m.scatter_update(tf.IndexedSlices(m_rows, rows))
    v.scatter_update(tf.IndexedSlices(v_rows, rows))
    variable.scatter_sub(tf.IndexedSlices((m_rows * alpha) / (tf.sqrt(v_rows) + self.epsilon),
                                          rows))

  def rows_of(self, variable: tf.Variable):
    """The rows `variable` is restricted to (int32 [R] tensor), or None."""
    entry = self._restricted.get(self._var_key(variable))
    return None if entry is None else entry[0]
