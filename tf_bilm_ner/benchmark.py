"""Throughput measurements: matmul ceiling, model FLOPs per token, train/infer tokens/s."""
import dataclasses
import time
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.data.labeled import Featurizer, make_dataset
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.prediction import FEATURE_SIGNATURE, make_decode_fn
from tf_bilm_ner.training import TRAIN_SIGNATURE, make_train_step


def matmul_gflops(n: int = 2048, seconds: float = 5.0) -> float:
  """Sustained float32 GEMM rate of this machine (the ceiling for dense layers)."""
  a = tf.random.normal([n, n])
  b = tf.random.normal([n, n])
  mm = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
  mm(a, b).numpy()
  reps, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    mm(a, b).numpy()
    reps += 1
  return 2.0 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def forward_flops_per_token(config: TaggerConfig, chars_per_token: float) -> Dict[str, float]:
  """Multiply-adds x 2 of one forward pass, per real token, by component.

  `chars_per_token` is the padded character positions per token the CharCNN
  actually computes (padding included), measured from the batches.
  """
  e = config.encoder
  lstm_in = e.word_dim + e.char_filters
  out = {
      "char_cnn": 2.0 * chars_per_token * e.char_kernel_size * e.char_dim * e.char_filters,
      "lstms": 2 * 2.0 * 4 * e.lstm_units * (lstm_in + e.lstm_units),
      "projection": 2.0 * 2 * e.lstm_units * config.num_tags,
      "crf": 4.0 * config.num_tags ** 2,
  }
  out["total"] = sum(out.values())
  return out


def _batches(sentences, featurizer, tags, batch_tokens, keys):
  ds = make_dataset(sentences, featurizer, tags, batch_tokens, shuffle=True, seed=0)
  return [{k: b[k] for k in keys} for b in ds]


def throughput(sentences: Sequence[Sentence], config: TaggerConfig, batch_tokens: int,
               infer_batch_tokens: int, jit_compile: bool = False, min_seconds: float = 20.0
               ) -> Dict[str, float]:
  """Training and inference tokens/s of a freshly initialised tagger on `sentences`.

  Batches are featurised up front, so the figures are the model's; the input
  pipeline runs in parallel in real training (prefetch) and is measured apart.
  Padded positions are not counted as tokens.
  """
  words, chars, tags = vocab_lib.build_vocabularies([s.tokens for s in sentences],
                                                    [s.tags for s in sentences])
  config = dataclasses.replace(config, num_tags=len(tags), encoder=dataclasses.replace(
      config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)))
  featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
  tagger = Tagger(config)
  optimizer = tf.keras.optimizers.Adam(1e-3, global_clipnorm=5.0)
  train_step = make_train_step(tagger, optimizer, jit_compile=jit_compile)
  decode = make_decode_fn(tagger)

  t0 = time.perf_counter()
  train_batches = _batches(sentences, featurizer, tags, batch_tokens, TRAIN_SIGNATURE)
  pipeline_secs = time.perf_counter() - t0
  real = sum(int(tf.reduce_sum(b["lengths"])) for b in train_batches)
  char_positions = sum(int(np.prod(b["char_ids"].shape)) for b in train_batches)

  def timed(fn, batches):
    for b in batches[:3]:
      fn(b)  # warm-up (tracing); XLA compiles per shape, so jit runs warm over one full pass
    if jit_compile:
      for b in batches:
        fn(b)
    sizes = [int(tf.reduce_sum(b["lengths"])) for b in batches]
    tokens, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
      for b, n in zip(batches, sizes):
        fn(b).numpy()
        tokens += n
    return tokens / (time.perf_counter() - start)

  train_tps = timed(train_step, train_batches)
  infer_batches = _batches(sentences, featurizer, tags, infer_batch_tokens, FEATURE_SIGNATURE)
  infer_tps = timed(decode, infer_batches)
  flops = forward_flops_per_token(config, char_positions / real)
  return {"train_tokens_per_sec": train_tps, "infer_tokens_per_sec": infer_tps,
          "pipeline_tokens_per_sec": real / pipeline_secs,
          "padded_char_positions_per_token": char_positions / real,
          "forward_flops_per_token": flops,
          "train_gflops": train_tps * 3 * flops["total"] / 1e9,
          "infer_gflops": infer_tps * flops["total"] / 1e9,
          "num_train_batches": len(train_batches)}
