"""Inference-only loops for serving: the BiLSTM and the CRF, each one `tf.while_loop` over time.

A served sentence of 26 tokens spent most of its time in loop overhead, not arithmetic: Keras
runs each LSTM direction as its own loop with about twenty ops a step, and the CRF ran four
(Viterbi forward and backtrack, log Z, and log Z's gradient for the marginals). Here:

  `bilstm`  both directions in one loop; the input projections of every step are one matmul
            before it, so a step is two small matmuls and the gate arithmetic.
  `crf`     Viterbi scores, forward (alpha) and backward (beta) log-sums in one loop, then
            the backtrack. Marginals are exp(alpha + beta - potentials - log Z), the
            forward-backward identity, instead of the gradient of log Z.

Same weights and same results as the training path (`encoder.bidirectional`, `CRF`):
Viterbi with the same operation order as tensorflow_addons (ties go the same way), LSTM
states and marginals equal within float32 rounding (tests/test_fused.py). Training never
uses this module.
"""
from typing import Tuple

import tensorflow as tf


def supports(lstm: tf.keras.layers.LSTM) -> bool:
  """Whether `bilstm` computes exactly what this Keras LSTM computes."""
  cell = lstm.cell
  return (lstm.compute_dtype == "float32" and cell.use_bias and not lstm.go_backwards
          and cell.activation is tf.keras.activations.tanh
          and cell.recurrent_activation is tf.keras.activations.sigmoid)


def _projected(lstm: tf.keras.layers.LSTM, x: tf.Tensor) -> tf.Tensor:
  """x [B, T, D] -> x W + b, time-major [T, B, 4U]."""
  shape = tf.shape(x)
  flat = tf.matmul(tf.reshape(x, [-1, shape[2]]), lstm.cell.kernel) + lstm.cell.bias
  return tf.transpose(tf.reshape(flat, [shape[0], shape[1], -1]), [1, 0, 2])


def _step(z: tf.Tensor, c: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Keras LSTM gates (order i, f, c, o): z [B, 4U], c [B, U] -> (h, c)."""
  i, f, g, o = tf.split(z, 4, axis=-1)
  c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
  return tf.sigmoid(o) * tf.tanh(c), c


def bilstm(forward_lstm: tf.keras.layers.LSTM, backward_lstm: tf.keras.layers.LSTM,
           x: tf.Tensor, lengths: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """`encoder.bidirectional` in one loop: x [B, T, D] float32, lengths [B] ->
  (forward [B, T, U], backward [B, T, U]); the backward LSTM reads each sentence reversed
  over its true length."""
  batch, time = tf.shape(x)[0], tf.shape(x)[1]
  units = forward_lstm.units
  xf = _projected(forward_lstm, x)
  xb = _projected(backward_lstm, tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0))
  rf, rb = forward_lstm.cell.recurrent_kernel, backward_lstm.cell.recurrent_kernel

  def body(t, hf, cf, hb, cb, out_f, out_b):
    hf, cf = _step(xf[t] + tf.matmul(hf, rf), cf)
    hb, cb = _step(xb[t] + tf.matmul(hb, rb), cb)
    return t + 1, hf, cf, hb, cb, out_f.write(t, hf), out_b.write(t, hb)

  zeros = tf.zeros([batch, units])
  arrays = [tf.TensorArray(tf.float32, size=time) for _ in range(2)]
  out = tf.while_loop(lambda t, *_: t < time, body, (0, zeros, zeros, zeros, zeros, *arrays))
  forward = tf.transpose(out[5].stack(), [1, 0, 2])
  backward = tf.reverse_sequence(tf.transpose(out[6].stack(), [1, 0, 2]), lengths,
                                 seq_axis=1, batch_axis=0)
  return forward, backward


def crf(potentials: tf.Tensor, transitions: tf.Tensor, lengths: tf.Tensor):
  """Viterbi decoding and tag marginals of a linear-chain CRF.

  Args:
    potentials: [B, T, K] float32 unary scores, T >= 1.
    transitions: [K, K] float32, transitions[i, j] scores tag i followed by tag j.
    lengths: [B] int32; position t of row b is real iff t < lengths[b].
  Returns:
    tag_ids [B, T] int32 (the best sequence; 0 past a row's length), best_score [B],
    marginals [B, T, K] (p(tag at t = k); meaningless past a row's length), log_z [B].
    A row of length 0 gets tag 0 and scores of no meaning.
  """
  batch, time = tf.shape(potentials)[0], tf.shape(potentials)[1]
  reverse = tf.reverse_sequence(potentials, lengths, seq_axis=1, batch_axis=0)
  # Forward sums on the sentence, and on the reversed sentence with transposed transitions.
  both = tf.transpose(tf.stack([potentials, reverse]), [2, 0, 1, 3])     # [T, 2, B, K]
  both_transitions = tf.stack([transitions, tf.transpose(transitions)])[:, None]  # [2,1,K,K]

  def body(t, sums, best, sums_out, pointers_out):
    live = (t < lengths)[:, None]                                       # [B, 1]
    new_sums = both[t] + tf.reduce_logsumexp(sums[:, :, :, None] + both_transitions, axis=2)
    scores = best[:, :, None] + transitions[None]                       # as tensorflow_addons
    new_best = potentials[:, t] + tf.reduce_max(scores, axis=1)
    pointers = tf.argmax(scores, axis=1, output_type=tf.int32)          # [B, K]
    sums = tf.where(live[None], new_sums, sums)
    best = tf.where(live, new_best, best)
    return t + 1, sums, best, sums_out.write(t, sums), pointers_out.write(t, pointers)

  sums_out = tf.TensorArray(tf.float32, size=time).write(0, both[0])
  pointers_out = tf.TensorArray(tf.int32, size=time).write(
      0, tf.zeros([batch, tf.shape(potentials)[2]], tf.int32))
  _, sums, best, sums_out, pointers_out = tf.while_loop(
      lambda t, *_: t < time, body, (1, both[0], potentials[:, 0], sums_out, pointers_out))
  all_sums = sums_out.stack()                                           # [T, 2, B, K]
  alpha = tf.transpose(all_sums[:, 0], [1, 0, 2])
  beta = tf.reverse_sequence(tf.transpose(all_sums[:, 1], [1, 0, 2]), lengths,
                             seq_axis=1, batch_axis=0)                  # includes potentials
  log_z = tf.reduce_logsumexp(sums[0], axis=-1)
  marginals = tf.exp(alpha + beta - potentials - log_z[:, None, None])
  return _backtrack(pointers_out.stack(), best, lengths), tf.reduce_max(best, -1), marginals, log_z


def _backtrack(pointers: tf.Tensor, best: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
  """pointers [T, B, K] (pointers[t, b, k]: best tag at t-1 before tag k at t), best [B, K]
  (Viterbi scores at each row's last position) -> tag_ids [B, T]."""
  time = tf.shape(pointers)[0]

  def body(t, tag, out):
    real = t < lengths
    out = out.write(t, tf.where(real, tag, 0))
    previous = tf.gather(pointers[t], tag, batch_dims=1)
    return t - 1, tf.where(real & (t > 0), previous, tag), out

  last = tf.argmax(best, axis=-1, output_type=tf.int32)
  _, _, out = tf.while_loop(lambda t, *_: t >= 0, body,
                            (time - 1, last, tf.TensorArray(tf.int32, size=time)))
  return tf.transpose(out.stack())
