"""A Keras LSTM's forward pass and gradient with the input projections out of the loop.

Keras' LSTM (2.15, CPU) computes `x_t W + h_{t-1} U + b` inside its loop, one small matmul
per time step for each, and autodiff of that loop adds three more small matmuls per step
(the gradients with respect to x_t, W and U, the last two summed over the steps). On 2 CPU
cores a [160, 164] x [164, 800] matmul runs at about a quarter of the rate of the same work
as one large matmul (results/README.md, "Where a pretraining step goes"). Here:

  forward   x W + b for every step as one matmul before the loop; the loop runs
            `h_{t-1} U` and the gates, and keeps the gates and cells for the gradient.
  gradient  a hand-written backward loop (backpropagation through time) that runs only
            `dz_t U^T` and the gate derivatives per step; after it dx, dW and dU are one
            large matmul each over all steps, and db one sum.

Same weights, same sums up to float32 rounding (tests/test_hoisted.py compares the states
and every gradient with Keras' layer).

Under `mixed_bfloat16` (x and the autocast weights in bfloat16) every matmul, the five large
ones and the two per step, runs in bfloat16 (float32 accumulation inside oneDNN), and the
gates, cell states and the backward loop's sums stay float32; the states come out in
bfloat16. Keras' LSTM under that policy also computes its gates and cells in bfloat16.

Used in training only, where it is asked for (`BiLMTrainConfig.hoisted_lstm`, through
`Encoder.hoisted_lstm`); serving has its own loop (`fused.py`), and inference the Keras
layer.

Shapes: B batch, T time steps, D inputs, U units; gates in Keras' order i, f, c, o.
"""
import tensorflow as tf

from tf_bilm_ner.layers import fused

COMPUTE_DTYPES = ("float32", "bfloat16")


def supports(lstm: tf.keras.layers.LSTM) -> bool:
  """Whether `lstm_states` computes what this Keras LSTM computes (float32 or bfloat16
  compute, Keras' default activations, bias, no dropout inside the cell)."""
  return (lstm.compute_dtype in COMPUTE_DTYPES and fused.keras_gates(lstm)
          and not lstm.cell.dropout and not lstm.cell.recurrent_dropout
          and not lstm.stateful and not lstm.return_state and lstm.return_sequences)


def _f32(v: tf.Tensor) -> tf.Tensor:
  return tf.cast(v, tf.float32)


@tf.custom_gradient
def _lstm(x: tf.Tensor, kernel: tf.Tensor, recurrent_kernel: tf.Tensor, bias: tf.Tensor):
  """x [B, T, D], kernel [D, 4U], recurrent_kernel [U, 4U], bias [4U] -> h [B, T, U], all
  in one dtype (float32 or bfloat16, the matmuls'); gates and cells in float32.

  Time-major inside: the inputs are transposed once at width D and the states once at
  width U, never the gates (width 4U).
  """
  dtype = x.dtype
  low = lambda v: tf.cast(v, dtype)           # this and _f32 are no-ops in float32
  batch, steps = tf.shape(x)[0], tf.shape(x)[1]
  units = tf.shape(recurrent_kernel)[0]
  x_tm = tf.transpose(x, [1, 0, 2])                                         # [T, B, D]
  flat_x = tf.reshape(x_tm, [-1, tf.shape(x)[2]])                           # [T*B, D]
  projected = tf.reshape(_f32(tf.matmul(flat_x, kernel)) + _f32(bias), [steps, batch, -1])
  new_array = lambda size: tf.TensorArray(tf.float32, size=size, clear_after_read=False)

  def body(t, h, c, hs, cs, ia, fa, ga, oa):
    z = projected[t] + _f32(tf.matmul(low(h), recurrent_kernel))
    zi, zf, zg, zo = tf.split(z, 4, axis=1)
    i, f, g, o = tf.sigmoid(zi), tf.sigmoid(zf), tf.tanh(zg), tf.sigmoid(zo)
    c = f * c + i * g
    h = o * tf.tanh(c)
    # Index t + 1 of `hs` and `cs` holds step t; index 0 the zero initial state.
    return (t + 1, h, c, hs.write(t + 1, h), cs.write(t + 1, c), ia.write(t, i),
            fa.write(t, f), ga.write(t, g), oa.write(t, o))

  zeros = tf.zeros([batch, units])
  hs, cs = (new_array(steps + 1).write(0, zeros) for _ in range(2))
  gate_arrays = [new_array(steps) for _ in range(4)]
  _, _, _, hs, cs, ia, fa, ga, oa = tf.while_loop(lambda t, *_: t < steps, body,
                                                  (0, zeros, zeros, hs, cs, *gate_arrays))
  all_h = hs.stack()                                                        # [T + 1, B, U]
  out = low(tf.transpose(all_h[1:], [1, 0, 2]))

  def grad(dh_out):
    """dh_out [B, T, U] -> gradients of x, kernel, recurrent_kernel, bias (their dtype)."""
    dh_tm = _f32(tf.transpose(dh_out, [1, 0, 2]))                           # [T, B, U]
    kernel_t = tf.transpose(recurrent_kernel)

    def back(t, dh, dc, dzs):
      i, f, g, o = ia.read(t), fa.read(t), ga.read(t), oa.read(t)
      c, c_prev = cs.read(t + 1), cs.read(t)
      dh = dh + dh_tm[t]
      tc = tf.tanh(c)
      dc = dc + dh * o * (1.0 - tc * tc)
      dz = tf.concat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                      dc * i * (1.0 - g * g), dh * tc * o * (1.0 - o)], 1)   # [B, 4U]
      return t - 1, _f32(tf.matmul(low(dz), kernel_t)), dc * f, dzs.write(t, dz)

    _, _, _, dzs = tf.while_loop(lambda t, *_: t >= 0, back,
                                 (steps - 1, zeros, zeros, new_array(steps)))
    dz = tf.reshape(dzs.stack(), [-1, 4 * units])                          # [T*B, 4U] float32
    dz_low = low(dz)
    d_x = tf.reshape(tf.matmul(dz_low, kernel, transpose_b=True), [steps, batch, -1])
    d_kernel = tf.matmul(flat_x, dz_low, transpose_a=True)
    d_recurrent = tf.matmul(low(tf.reshape(all_h[:-1], [-1, units])), dz_low, transpose_a=True)
    return (tf.transpose(d_x, [1, 0, 2]), d_kernel, d_recurrent,
            tf.cast(tf.reduce_sum(dz, 0), bias.dtype))

  return out, grad


def lstm_states(lstm: tf.keras.layers.LSTM, x: tf.Tensor) -> tf.Tensor:
  """What `lstm(x)` returns (return_sequences, zero initial state), x [B, T, D] in the
  layer's compute dtype -> [B, T, U] (the same dtype), computed as the module docstring says;
  gradients reach `lstm`'s kernel, recurrent kernel and bias, and x."""
  cell = lstm.cell
  low = lambda v: tf.cast(v, lstm.compute_dtype)   # the float32 variables, outside autocast
  return _lstm(low(x), low(cell.kernel), low(cell.recurrent_kernel), low(cell.bias))
