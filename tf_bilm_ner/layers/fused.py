"""Inference-only loops for serving: the BiLSTM and the CRF, each one `tf.while_loop` over time.

A served sentence of 26 tokens spent most of its time in loop overhead, not arithmetic: Keras
runs each LSTM direction as its own loop with about twenty ops a step, and the CRF ran four
(Viterbi forward and backtrack, log Z, and log Z's gradient for the marginals). Here:

  `bilstm`  both directions in one loop; the input projections of every step are one matmul
            before it, so a step is two small matmuls and the gate arithmetic. (Both
            directions as one batched matmul, or as one block-diagonal matmul, were 3x
            slower per step for one sentence here: tools/profile_serving.py.)
  `char_conv` the CharCNN's convolution as one matmul over character windows.
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


def keras_gates(lstm: tf.keras.layers.LSTM) -> bool:
  """Whether this Keras LSTM computes `_step`'s gates (Keras' default activations, with bias)
  over its inputs in order, whatever its dtype."""
  cell = lstm.cell
  return (cell.use_bias and not lstm.go_backwards
          and cell.activation is tf.keras.activations.tanh
          and cell.recurrent_activation is tf.keras.activations.sigmoid)


def supports(lstm: tf.keras.layers.LSTM) -> bool:
  """Whether `bilstm` computes exactly what this Keras LSTM computes."""
  return lstm.compute_dtype == "float32" and keras_gates(lstm)


def _steps(lengths: tf.Tensor, time: tf.Tensor) -> tf.Tensor:
  """Positions the loops run: to the longest sentence (at least 1, at most T). Positions
  after it are padding in every row; their outputs are zeros (the loops' arrays are left
  unwritten there), so a request padded to a fixed width (the XLA path of
  `serving/export.py`) costs no extra steps."""
  return tf.minimum(tf.maximum(tf.reduce_max(lengths), 1), time)


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
  steps = _steps(lengths, time)
  out = tf.while_loop(lambda t, *_: t < steps, body,
                      (0, zeros, zeros, zeros, zeros, *arrays))
  forward = tf.transpose(out[5].stack(), [1, 0, 2])
  backward = tf.reverse_sequence(tf.transpose(out[6].stack(), [1, 0, 2]), lengths,
                                 seq_axis=1, batch_axis=0)
  return forward, backward


def char_conv(conv: tf.keras.layers.Conv1D, x: tf.Tensor) -> tf.Tensor:
  """The CharCNN's Conv1D ('same' padding, stride 1) as one matmul over the windows:
  x [N, C, D] -> [N, C, filters], before the activation. The same sums as the convolution
  (within float32 rounding) without the per-shape setup a convolution kernel pays for each
  new request shape."""
  width = conv.kernel_size[0]
  left = (width - 1) // 2
  chars, depth = tf.shape(x)[1], tf.shape(x)[2]
  padded = tf.pad(x, [[0, 0], [left, width - 1 - left], [0, 0]])
  windows = tf.concat([padded[:, j:j + chars] for j in range(width)], -1)   # [N, C, width*D]
  out = tf.matmul(tf.reshape(windows, [-1, width * depth]),
                  tf.reshape(conv.kernel, [width * depth, conv.filters]))
  if conv.use_bias:
    out += conv.bias
  return tf.reshape(out, [tf.shape(x)[0], chars, conv.filters])


def supports_conv(conv: tf.keras.layers.Conv1D) -> bool:
  """Whether `char_conv` computes exactly what this Conv1D computes."""
  return (conv.padding == "same" and conv.strides == (1,) and conv.dilation_rate == (1,)
          and conv.groups == 1 and conv.compute_dtype == "float32"
          and conv.activation is tf.keras.activations.linear)


def _logsumexp(x: tf.Tensor) -> tf.Tensor:
  """log sum exp over axis 2 of finite x [2, B, K, K] -> [2, B, K]: tf.reduce_logsumexp
  without its guard for infinite maxima (half its ops, in a loop run per position)."""
  top = tf.reduce_max(x, axis=2, keepdims=True)
  return tf.math.log(tf.reduce_sum(tf.exp(x - top), axis=2)) + top[:, :, 0]


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
  # The loop runs every row to the longest unmasked (padding follows the real positions in
  # both directions, so it never reaches them); each row's results are read at its last
  # position after the loop.
  both = tf.transpose(tf.stack([potentials, reverse]), [2, 0, 1, 3])     # [T, 2, B, K]
  both_transitions = tf.stack([transitions, tf.transpose(transitions)])[:, None]  # [2,1,K,K]
  by_time = tf.transpose(potentials, [1, 0, 2])                          # [T, B, K]

  def body(t, sums, best, sums_out, pointers_out):
    sums = both[t] + _logsumexp(sums[:, :, :, None] + both_transitions)
    scores = best[:, :, None] + transitions                             # as tensorflow_addons
    pointers = tf.argmax(scores, axis=1, output_type=tf.int32)          # [B, K]
    best = by_time[t] + tf.reduce_max(scores, axis=1)
    return (t + 1, sums, best, sums_out.write(t, tf.concat([sums, best[None]], 0)),
            pointers_out.write(t, pointers))

  sums_out = tf.TensorArray(tf.float32, size=time).write(
      0, tf.concat([both[0], by_time[:1]], 0))                           # [3, B, K] each
  pointers_out = tf.TensorArray(tf.int32, size=time).write(
      0, tf.zeros([batch, tf.shape(potentials)[2]], tf.int32))
  steps = _steps(lengths, time)
  _, _, _, sums_out, pointers_out = tf.while_loop(
      lambda t, *_: t < steps, body,
      (1, both[0], by_time[0], sums_out, pointers_out))
  all_sums = tf.transpose(sums_out.stack(), [2, 1, 0, 3])               # [B, 3, T, K]
  alpha = all_sums[:, 0]
  beta = tf.reverse_sequence(all_sums[:, 1], lengths, seq_axis=1, batch_axis=0)  # + potentials
  at_last = tf.gather(all_sums, tf.maximum(lengths - 1, 0), axis=2, batch_dims=1)  # [B, 3, K]
  log_z = tf.reduce_logsumexp(at_last[:, 0], axis=-1)
  best = at_last[:, 2]
  marginals = tf.exp(alpha + beta - potentials - log_z[:, None, None])
  return _backtrack(pointers_out.stack(), best, lengths), tf.reduce_max(best, -1), marginals, log_z


def _backtrack(pointers: tf.Tensor, best: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
  """pointers [T, B, K] (pointers[t, b, k]: best tag at t-1 before tag k at t), best [B, K]
  (Viterbi scores at each row's last position) -> tag_ids [B, T].

  The backtrack as composed maps, not a loop over positions: map t sends the tag at t+1 to
  the tag at t (pointers[t + 1], the identity from a row's last position on), and the tag
  at t is the composition of maps t, t+1, ..., T-1 applied to the last tag. The
  compositions of all suffixes come from ceil(log2 T) rounds of doubling (each suffix
  composed with the one 2^j further on), one gather each: the same pointers followed, so
  the same path (and the same ties) as following them one position at a time.
  """
  time, batch, tags = tf.shape(pointers)[0], tf.shape(pointers)[1], tf.shape(pointers)[2]
  identity = tf.broadcast_to(tf.range(tags), [time, batch, tags])
  # map t: pointers[t + 1] while t + 1 is a real position of the row, else the identity.
  follows = tf.range(1, time + 1)[:, None, None] < lengths[None, :, None]    # [T, B, 1]
  maps = tf.where(follows, tf.concat([pointers[1:], identity[:1]], 0), identity)

  def body(step, maps):
    # suffix from t = (suffix from t, 2^j long) after (suffix from t + 2^j); past T: identity.
    ahead = tf.range(time) + step  # (a gather, not a concat: XLA needs the shape fixed)
    later = tf.where((ahead < time)[:, None, None], tf.gather(maps, tf.minimum(ahead, time - 1)),
                     identity)
    return step * 2, tf.gather(maps, later, batch_dims=2)

  _, suffix = tf.while_loop(lambda step, _: step < time, body, (1, maps))
  last = tf.argmax(best, axis=-1, output_type=tf.int32)                       # [B]
  path = tf.gather(suffix, tf.broadcast_to(last[None, :, None], [time, batch, 1]),
                   batch_dims=2)[..., 0]                                      # [T, B]
  real = tf.range(time)[:, None] < lengths[None, :]
  return tf.transpose(tf.where(real, path, 0))
