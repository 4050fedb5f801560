"""Numeric precision of training: float32, or mixed bfloat16 (bfloat16 compute, float32 state).

`mixed_bfloat16` runs the embeddings, CharCNN, LSTMs, the tagger's projection and the BiLM's
sampled-softmax matmuls in bfloat16, and keeps in float32 the variables (so checkpoints,
transfer and exports are the same as with float32), the CRF, the softmax cross-entropy and
the optimiser. It pays where bfloat16 matmuls are fast (GPUs, CPUs with AVX512_BF16 or
AMX: BiLM pretraining 1.24x float32 on 2 Zen 4 cores, with `hoisted_lstm`); on a CPU without
them (AVX2 only) it is slower than float32 (results/README.md).
Exports always compute in float32.
"""
from typing import Optional, Sequence

import tensorflow as tf
from absl import logging

from tf_bilm_ner import provenance
from tf_bilm_ner.config import PRECISIONS

# CPU instruction sets with bfloat16 arithmetic (/proc/cpuinfo flags).
BFLOAT16_CPU_FEATURES = ("avx512_bf16", "amx_bf16")


def policy(precision: str) -> tf.keras.mixed_precision.Policy:
  """The Keras dtype policy of a `precision` name (one of PRECISIONS)."""
  if precision not in PRECISIONS:
    raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
  return tf.keras.mixed_precision.Policy(precision)


def slow_hardware_note(precision: str, cpu_features: Optional[Sequence[str]] = None,
                       gpus: Optional[int] = None) -> Optional[str]:
  """A warning for `mixed_bfloat16` where nothing computes bfloat16 in hardware (no GPU, and a
  CPU without `BFLOAT16_CPU_FEATURES`), None otherwise. `cpu_features` and `gpus` default to
  this machine's (`provenance.machine`, `tf.config`)."""
  if precision != "mixed_bfloat16":
    return None
  if gpus is None:
    gpus = len(tf.config.list_physical_devices("GPU"))
  if cpu_features is None:
    cpu_features = provenance.machine()["cpu_features"]
  if gpus or any(f in cpu_features for f in BFLOAT16_CPU_FEATURES):
    return None
  return ("--precision=mixed_bfloat16 on a CPU without bfloat16 arithmetic (no "
          f"{' or '.join(BFLOAT16_CPU_FEATURES)} in /proc/cpuinfo) and no GPU: expect about "
          "half the float32 speed (results/README.md); --precision=float32 is faster here")


def warn_if_slow(precision: str) -> None:
  """Logs `slow_hardware_note` if there is one."""
  note = slow_hardware_note(precision)
  if note:
    logging.warning(note)
