"""Sampled softmax loss whose matmuls may run in a lower precision, the rest in float32.

`tf.nn.sampled_softmax_loss` casts the gathered softmax rows to the inputs' dtype and then
computes the logits, the log-q correction and the cross-entropy all in that dtype; with
bfloat16 states (8 mantissa bits) that puts the loss itself in bfloat16. Here the two
matmuls (true logits, sampled logits) run in the states' dtype and everything after them
in float32. In float32 it is the same computation as `tf.nn.sampled_softmax_loss`
(tests/test_sampled_softmax.py compares the two on the same sampled candidates).

Gradients reach `weights` and `biases` only through `tf.gather` of the label and sampled
rows, so they stay `tf.IndexedSlices` (sparse) whatever the compute dtype.
"""
from typing import Optional, Tuple

import tensorflow as tf


def sample_candidates(labels: tf.Tensor, num_sampled: int, num_classes: int,
                      seed: Optional[int] = None) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """Log-uniform (Zipfian) negatives, unique, as `tf.nn.sampled_softmax_loss` draws them.

  labels: [N] int. Returns (sampled [S] int64, true_expected_count [N, 1],
  sampled_expected_count [S]), the latter two float32.
  """
  return tf.random.log_uniform_candidate_sampler(
      tf.cast(labels[:, None], tf.int64), num_true=1, num_sampled=num_sampled, unique=True,
      range_max=num_classes, seed=seed)


def sampled_softmax_loss(weights: tf.Tensor, biases: tf.Tensor, labels: tf.Tensor,
                         inputs: tf.Tensor, num_sampled: int, num_classes: int,
                         sampled_values=None) -> tf.Tensor:
  """Per-example sampled softmax NLL, float32 [N].

  Args:
    weights: [num_classes, D] float32 softmax weights.
    biases: [num_classes] float32.
    labels: [N] int, the target class of each example.
    inputs: [N, D] states, float32 or a lower precision (the matmuls' dtype).
    num_sampled, num_classes: as for `tf.nn.sampled_softmax_loss`.
    sampled_values: `sample_candidates`'s result, or None to draw it here.
  """
  labels = tf.cast(labels, tf.int64)
  if sampled_values is None:
    sampled_values = sample_candidates(labels, num_sampled, num_classes)
  sampled, true_expected, sampled_expected = (tf.stop_gradient(s) for s in sampled_values)
  sampled = tf.cast(sampled, tf.int64)
  # Two gathers, not one over the concatenated ids: slicing one gathered block would give
  # each slice's gradient back as a dense block of all the rows (StridedSliceGrad) to add.
  true_w = tf.cast(tf.gather(weights, labels), inputs.dtype)            # [N, D]
  sampled_w = tf.cast(tf.gather(weights, sampled), inputs.dtype)        # [S, D]
  # Each [N, S] pass costs about as much as the matmul's own output, so the per-candidate
  # terms (bias, log-q correction) are summed on the [S] vector first.
  true_logits = (tf.cast(tf.reduce_sum(inputs * true_w, axis=1), tf.float32)
                 + (tf.gather(biases, labels) - tf.math.log(true_expected[:, 0])))   # [N]
  sampled_logits = (tf.cast(tf.matmul(inputs, sampled_w, transpose_b=True), tf.float32)
                    + (tf.gather(biases, sampled) - tf.math.log(sampled_expected)))  # [N, S]
  # A negative that is the example's own label is removed (its logit pushed to -inf).
  hit_rows, hit_cols, hit_weights = tf.nn.compute_accidental_hits(
      labels[:, None], sampled, num_true=1)
  sampled_logits = tf.tensor_scatter_nd_add(
      sampled_logits, tf.stack([hit_rows, tf.cast(hit_cols, tf.int32)], 1), hit_weights)
  return _true_class_xent(true_logits, sampled_logits)


@tf.custom_gradient
def _true_class_xent(true_logits: tf.Tensor, sampled_logits: tf.Tensor):
  """Softmax cross-entropy of [true, sampled] with the true class as the target:
  true_logits [N], sampled_logits [N, S] float32 -> [N], and its gradient, without building
  the [N, 1 + S] logits (a concatenation forward, a slice of it backward) and in fewer
  [N, S] passes than `tf.nn.sparse_softmax_cross_entropy_with_logits` takes on CPU."""
  top = tf.maximum(tf.reduce_max(sampled_logits, axis=1), true_logits)   # [N]
  sampled_exp = tf.exp(sampled_logits - top[:, None])                   # [N, S]
  true_exp = tf.exp(true_logits - top)
  total = tf.reduce_sum(sampled_exp, axis=1) + true_exp                 # [N]
  loss = tf.math.log(total) + top - true_logits

  def grad(d_loss):
    scale = d_loss / total
    return d_loss * (true_exp / total - 1.0), sampled_exp * scale[:, None]

  return loss, grad
