"""Numeric precision of training: float32, or mixed bfloat16 (bfloat16 compute, float32 state).

`mixed_bfloat16` runs the embeddings, CharCNN, LSTMs, the tagger's projection and the BiLM's
sampled-softmax matmuls in bfloat16, and keeps in float32 the variables (so checkpoints,
transfer and exports are the same as with float32), the CRF, the softmax cross-entropy and
the optimiser. It pays where bfloat16 matmuls are fast (GPUs, CPUs with AVX512_BF16 or
AMX: BiLM pretraining 1.24x float32 on 2 Zen 4 cores, with `hoisted_lstm`); on a CPU without
them (AVX2 only) it is slower than float32 (results/README.md).
Exports always compute in float32.
"""
import tensorflow as tf

from tf_bilm_ner.config import PRECISIONS


def policy(precision: str) -> tf.keras.mixed_precision.Policy:
  """The Keras dtype policy of a `precision` name (one of PRECISIONS)."""
  if precision not in PRECISIONS:
    raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
  return tf.keras.mixed_precision.Policy(precision)
