"""The cost of the two LSTMs in a pretraining step (forward and gradient), four ways.

The two LSTMs are a large part of a BiLM pretraining step on 2 CPU cores (results/README.md,
"Where a pretraining step goes"). This times that part alone, on one batch shape, for each
way of computing it:

  keras      `encoder.bidirectional` with Keras' LSTM layers: what pretraining runs
  keras_xla  the same, the whole step (forward and gradient) XLA-compiled (`jit_compile`)
  one_loop   `fused.bilstm`, the serving loop (input projections as one matmul before a
             single loop over both directions), differentiated by autodiff
  hoisted    `layers/hoisted.py` (`train_bilm --hoisted_lstm`): input projections before
             each direction's loop, a hand-written backward loop, the weight gradients as
             large matmuls after it

Each variant computes a loss on the states of both directions, a fixed random readout
summed over the real positions, and its gradient with respect to both LSTMs' weights; the
gradients of every variant are compared with `keras`'s (`max_grad_diff`), so a faster
variant that computes something else shows.
"""
import time
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.layers import fused
from tf_bilm_ner.layers.encoder import bidirectional

VARIANTS = ("keras", "keras_xla", "one_loop", "hoisted")


def make_step(variant: str, forward_lstm, backward_lstm, readout: tf.Tensor):
  """A tf.function (x [B, T, D] float32, lengths [B] int32) -> (loss [], gradients of both
  LSTMs' weights); `readout` [B, T, U] weighs each state in the loss."""
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
  weights = forward_lstm.trainable_variables + backward_lstm.trainable_variables

  def step(x, lengths):
    real = tf.sequence_mask(lengths, tf.shape(x)[1], tf.float32)[:, :, None]
    with tf.GradientTape() as tape:
      if variant == "one_loop":
        forward, backward = fused.bilstm(forward_lstm, backward_lstm, x, lengths)
      else:
        forward, backward = bidirectional(forward_lstm, backward_lstm, x, lengths,
                                          hoisted=variant == "hoisted")
      loss = tf.reduce_sum((forward + backward) * readout * real)
    return loss, tape.gradient(loss, weights)

  return tf.function(step, jit_compile=variant == "keras_xla")


def _time(step, x, lengths, steps: int) -> float:
  """Seconds per call of `step`, over `steps` calls (results fetched)."""
  start = time.perf_counter()
  for _ in range(steps):
    loss, _ = step(x, lengths)
    loss.numpy()
  return (time.perf_counter() - start) / steps


def compare(batch: int, time_steps: int, input_dim: int, units: int, steps: int,
            rounds: int = 3, variants: Sequence[str] = VARIANTS, seed: int = 1) -> List[Dict]:
  """One row per variant (`keras` always, first): ms_per_step (median of `rounds`
  interleaved rounds of `steps` calls), tokens_per_sec (batch * time_steps real tokens per
  step), speed_vs_keras, and max_grad_diff (largest absolute difference of a gradient entry
  from `keras`'s)."""
  variants = ("keras",) + tuple(v for v in variants if v != "keras")  # the reference first
  tf.random.set_seed(seed)
  rng = np.random.RandomState(seed)
  make_lstm = lambda: tf.keras.layers.LSTM(units, return_sequences=True)
  forward_lstm, backward_lstm = make_lstm(), make_lstm()
  x = tf.constant(rng.normal(size=[batch, time_steps, input_dim]), tf.float32)
  lengths = tf.fill([batch], time_steps)
  forward_lstm(x), backward_lstm(x)
  readout = tf.constant(rng.normal(size=[batch, time_steps, units]), tf.float32)
  steps_by_name = {v: make_step(v, forward_lstm, backward_lstm, readout) for v in variants}
  grads = {v: [g.numpy() for g in fn(x, lengths)[1]] for v, fn in steps_by_name.items()}
  for fn in steps_by_name.values():  # warm up (XLA compiles on the first call)
    _time(fn, x, lengths, 2)
  secs: Dict[str, list] = {v: [] for v in variants}
  for _ in range(rounds):
    for v, fn in steps_by_name.items():
      secs[v].append(_time(fn, x, lengths, steps))
  base = float(np.median(secs[variants[0]]))
  rows = []
  for v in variants:
    s = float(np.median(secs[v]))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(grads[v], grads[variants[0]]))
    rows.append({"variant": v, "ms_per_step": 1000.0 * s,
                 "rounds_ms": [1000.0 * t for t in secs[v]],
                 "tokens_per_sec": batch * time_steps / s, "speed_vs_keras": base / s,
                 "max_grad_diff": diff})
  return rows
