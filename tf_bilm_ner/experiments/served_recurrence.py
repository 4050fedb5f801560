"""What a served sentence's BiLSTM costs, and what could make it cheaper, by LSTM width.

A one-sentence request spends most of its time in the BiLSTM's recurrence: each of the T
steps multiplies the state [1, U] by each direction's recurrent kernel [U, 4U], which for
U = 384 is 2.4 MB of float32 per direction, more than a core's L2 cache (results/README.md,
"The 384-unit BiLM and the latency budget"). This times that part alone for one sentence,
each way of computing it:

  served      `fused.bilstm`, as the default export runs it (one loop, both directions)
  served_xla  the same XLA-compiled, as the `xla_max_tokens` export path runs it
  bf16        the served loop with both recurrent kernels in bfloat16 (half the bytes a step
              reads; float32 gates and cells)
  bf16_xla    the same XLA-compiled
  split_xla   each direction its own XLA-compiled loop, the two called from one graph, so
              that two inter-op threads can run them at once, one per core

Every variant's states are compared with `served`'s (`max_state_diff`), so a faster
variant that computes something else shows. Input projections run before the loops in
every variant and are timed with them.
"""
import time
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.layers import fused

VARIANTS = ("served", "served_xla", "bf16", "bf16_xla", "split_xla")


def _one_direction(x: tf.Tensor, lstm: tf.keras.layers.LSTM, dtype: tf.DType) -> tf.Tensor:
  """One sentence x [T, D] float32 through one LSTM, the recurrent matmul in `dtype` (its
  product cast back to float32, as `layers/hoisted.py` does) -> states [T, U] float32."""
  projected = tf.matmul(x, lstm.cell.kernel) + lstm.cell.bias                  # [T, 4U]
  recurrent = tf.cast(lstm.cell.recurrent_kernel, dtype)
  steps = tf.shape(x)[0]

  def body(t, h, c, out):
    z = projected[t][None] + tf.cast(tf.matmul(tf.cast(h, dtype), recurrent), tf.float32)
    h, c = fused._step(z, c)  # pylint: disable=protected-access
    return t + 1, h, c, out.write(t, h[0])

  zeros = tf.zeros([1, lstm.units])
  out = tf.while_loop(lambda t, *_: t < steps, body,
                      (0, zeros, zeros, tf.TensorArray(tf.float32, size=steps)))[3]
  return out.stack()


def make_call(variant: str, forward_lstm, backward_lstm):
  """A tf.function x [1, T, D] float32 -> (forward [T, U], backward [T, U]) states, the
  backward direction's in reading order (position T - 1 first)."""
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
  if variant in ("served", "served_xla"):
    def served(x):
      forward, backward = fused.bilstm(forward_lstm, backward_lstm, x, tf.shape(x)[1:2])
      return forward[0], tf.reverse(backward[0], [0])
    return tf.function(served, jit_compile=variant == "served_xla")
  dtype = tf.bfloat16 if variant.startswith("bf16") else tf.float32
  one = lambda x, lstm: _one_direction(x, lstm, dtype)
  if variant == "split_xla":
    one_xla = tf.function(one, jit_compile=True)
    return tf.function(lambda x: (one_xla(x[0], forward_lstm),
                                  one_xla(tf.reverse(x[0], [0]), backward_lstm)))
  return tf.function(lambda x: (one(x[0], forward_lstm), one(tf.reverse(x[0], [0]),
                                                             backward_lstm)),
                     jit_compile=variant == "bf16_xla")


def _time(call, x, calls: int) -> float:
  """Seconds per call (results fetched), over `calls` calls."""
  start = time.perf_counter()
  for _ in range(calls):
    call(x)[1].numpy()
  return (time.perf_counter() - start) / calls


def compare(tokens: int, input_dim: int, units: int, calls: int, rounds: int = 5,
            variants: Sequence[str] = VARIANTS, seed: int = 1) -> List[Dict]:
  """One row per variant (`served` always, first): ms_per_sentence (median of `rounds`
  interleaved rounds of `calls` calls), speed_vs_served, max_state_diff."""
  variants = ("served",) + tuple(v for v in variants if v != "served")
  tf.random.set_seed(seed)
  rng = np.random.RandomState(seed)
  lstms = [tf.keras.layers.LSTM(units, return_sequences=True) for _ in range(2)]
  x = tf.constant(rng.normal(size=[1, tokens, input_dim]), tf.float32)
  for lstm in lstms:
    lstm(x)
  calls_by_name = {v: make_call(v, *lstms) for v in variants}
  states = {v: [s.numpy() for s in fn(x)] for v, fn in calls_by_name.items()}
  secs: Dict[str, list] = {v: [] for v in variants}
  for _ in range(rounds):
    for v, fn in calls_by_name.items():
      secs[v].append(_time(fn, x, calls))
  base = float(np.median(secs["served"]))
  rows = []
  for v in variants:
    s = float(np.median(secs[v]))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(states[v], states["served"]))
    rows.append({"variant": v, "ms_per_sentence": 1000.0 * s,
                 "rounds_ms": [1000.0 * t for t in secs[v]], "speed_vs_served": base / s,
                 "max_state_diff": diff})
  return rows
