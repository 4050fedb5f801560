"""Throughput measurements: matmul ceiling, model FLOPs per token, train/infer tokens/s."""
import dataclasses
import time
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner.config import BiLMConfig, EncoderConfig, TaggerConfig, TrainConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.data.labeled import Featurizer, LabeledData
from tf_bilm_ner.evaluation import FEATURE_SIGNATURE, make_decode_fn
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import bilm_steps
from tf_bilm_ner.training.tagger_steps import TRAIN_SIGNATURE, make_train_step


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


def _batches(data: LabeledData, batching: str, batch_tokens: int, keys):
  if batching == "token_budget":
    ds = data.batches(batch_tokens, shuffle=True, seed=0)
  elif batching.startswith("sentences"):
    # The naive way: a fixed number of sentences, padded to the longest in the batch.
    ds = data.sentences().shuffle(data.num_sentences, seed=0).padded_batch(int(batching[9:]))
  else:
    raise ValueError(f"unknown batching {batching!r}")
  return [{k: b[k] for k in keys} for b in ds]


def _timed(fn, batches, min_seconds, warm_all=False):
  for b in (batches if warm_all else batches[:3]):
    fn(b)  # tracing; XLA compiles once per shape, so it warms on a full pass
  sizes = [int(tf.reduce_sum(b["lengths"])) for b in batches]
  tokens, start, last = 0, time.perf_counter(), None
  while time.perf_counter() - start < min_seconds:
    for b, n in zip(batches, sizes):
      last = fn(b)  # no per-step read: the training loop does not read per step either
      tokens += n
  last.numpy()
  return tokens / (time.perf_counter() - start)


def _setup(sentences: Sequence[Sentence], config: TaggerConfig):
  words, chars, tags = vocab_lib.build_vocabularies([s.tokens for s in sentences],
                                                    [s.tags for s in sentences])
  config = dataclasses.replace(config, num_tags=len(tags), encoder=dataclasses.replace(
      config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)))
  featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
  return config, LabeledData(sentences, featurizer, tags), Tagger(config)


def throughput(sentences: Sequence[Sentence], config: TaggerConfig, batch_tokens: int,
               infer_batch_tokens: int, batching: str = "token_budget",
               jit_compile: bool = False, min_seconds: float = 20.0) -> Dict[str, float]:
  """Model-only training and inference tokens/s of a fresh tagger on `sentences`.

  Batches are featurised and materialised up front, so these are the model's
  figures; `epoch_throughput` measures the whole loop with its input pipeline.
  Padded positions are not counted as tokens.
  """
  config, data, tagger = _setup(sentences, config)
  optimizer = tf.keras.optimizers.Adam(1e-3, global_clipnorm=5.0)
  train_step = make_train_step(tagger, optimizer, jit_compile=jit_compile)
  decode = make_decode_fn(tagger)
  train_batches = _batches(data, batching, batch_tokens, TRAIN_SIGNATURE)
  real = sum(int(tf.reduce_sum(b["lengths"])) for b in train_batches)
  padded = sum(int(np.prod(b["token_ids"].shape)) for b in train_batches)
  char_positions = sum(int(np.prod(b["char_ids"].shape)) for b in train_batches)
  train_tps = _timed(train_step, train_batches, min_seconds, warm_all=jit_compile)
  infer_batches = _batches(data, "token_budget", infer_batch_tokens, FEATURE_SIGNATURE)
  infer_tps = _timed(decode, infer_batches, min_seconds)
  flops = forward_flops_per_token(config, char_positions / real)
  return {"train_tokens_per_sec": train_tps, "infer_tokens_per_sec": infer_tps,
          "padding_fraction": 1 - real / padded,
          "padded_char_positions_per_token": char_positions / real,
          "forward_flops_per_token": flops,
          "train_gflops": train_tps * 3 * flops["total"] / 1e9,
          "infer_gflops": infer_tps * flops["total"] / 1e9,
          "num_train_batches": len(train_batches)}


def epoch_throughput(sentences: Sequence[Sentence], config: TaggerConfig, batch_tokens: int,
                     epochs: int, autotune: bool) -> List[float]:
  """Tokens/s of whole training epochs through the tf.data pipeline, one figure per epoch."""
  _, data, tagger = _setup(sentences, config)
  train_step = make_train_step(tagger, tf.keras.optimizers.Adam(1e-3, global_clipnorm=5.0))
  total = sum(len(s.tokens) for s in sentences)
  out = []
  for epoch in range(epochs):
    start, last = time.perf_counter(), None
    for b in data.batches(batch_tokens, shuffle=True, seed=epoch, autotune=autotune):
      last = train_step({k: b[k] for k in TRAIN_SIGNATURE})
    last.numpy()
    out.append(total / (time.perf_counter() - start))
  return out


def tagger_benchmark(sentences: Sequence[Sentence], variants, infer_batch_tokens: int,
                     pipeline_epochs: int, min_seconds: float) -> dict:
  """`tools/benchmark_tagger.py`'s measurements at the default model size.

  Args:
    variants: (batching, batch_tokens, jit_compile) per model-only row (`throughput`).
    pipeline_epochs: whole epochs timed through tf.data with its autotuner on and off
      (0: skip).
  Returns:
    The results JSON (without provenance): matmul ceiling, model-only rows, whole epochs.
  """
  ceiling = matmul_gflops()
  logging.info("matmul ceiling %.1f GFLOP/s", ceiling)
  config = TaggerConfig(encoder=EncoderConfig())
  default_budget = TrainConfig().batch_tokens
  rows = [_model_only_row(sentences, config, v, infer_batch_tokens, min_seconds, ceiling)
          for v in variants]
  epochs = {}
  for autotune in ((True, False) if pipeline_epochs else ()):
    tps = epoch_throughput(sentences, config, default_budget, pipeline_epochs, autotune)
    epochs[f"autotune_{'on' if autotune else 'off'}"] = tps
    logging.info("whole epochs, batch_tokens %d, tf.data autotune %s: %s tokens/s",
                 default_budget, autotune, [round(x) for x in tps])
  return {"matmul_ceiling_gflops": ceiling, "encoder_config": config.encoder.to_dict(),
          "default_batch_tokens": default_budget, "model_only": rows,
          "whole_epochs_tokens_per_sec": epochs}


def _model_only_row(sentences, config, variant, infer_batch_tokens, min_seconds, ceiling):
  batching, budget, jit = variant
  row = {"batching": batching, "batch_tokens": budget, "jit_compile": jit}
  try:
    row.update(throughput(sentences, config, budget, infer_batch_tokens, batching=batching,
                          jit_compile=jit, min_seconds=min_seconds))
  except tf.errors.InvalidArgumentError as err:
    # XLA on CPU cannot compile tfa's CRF gradient (tf.cond -> FakeParam): record that.
    row["error"] = str(err).strip().splitlines()[0][:300]
    logging.warning("%s failed: %s", row, row["error"])
    return row
  row["train_fraction_of_ceiling"] = row["train_gflops"] / ceiling
  row["infer_fraction_of_ceiling"] = row["infer_gflops"] / ceiling
  logging.info("%s %d jit=%s: train %.0f tokens/s (%.1f GFLOP/s), infer %.0f tokens/s",
               batching, budget, jit, row["train_tokens_per_sec"], row["train_gflops"],
               row["infer_tokens_per_sec"])
  return row


def bilm_throughput(train_pattern: str, config, words, chars, batch_tokens: int,
                    num_batches: int = 60, min_seconds: float = 20.0) -> Dict[str, float]:
  """Model-only BiLM training tokens/s on `num_batches` batches streamed from shards.

  Args:
    train_pattern: glob of shards.
    config: a BiLMConfig (vocabulary sizes are filled in from `words`, `chars`).
    words, chars: LM vocabularies.
    batch_tokens: token budget per batch.
  """
  config = bilm_steps.sized(config, words, chars)
  featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
  bilm = bilm_steps.build_bilm(config)
  train_step = bilm_steps.make_train_step(
      bilm, tf.keras.optimizers.Adam(1e-3, global_clipnorm=5.0), tf.distribute.get_strategy())
  step = lambda batch: train_step(batch)[0]
  batches = list(corpus.lm_dataset(train_pattern, featurizer, batch_tokens, seed=0)
                 .take(num_batches))
  return {"train_tokens_per_sec": _timed(step, batches, min_seconds),
          "num_batches": len(batches)}


def bilm_grid(train_pattern: str, words, chars, grid: Sequence[str], num_batches: int,
              min_seconds: float) -> List[dict]:
  """Model-only `bilm_throughput` for each "num_sampled:batch_tokens" pair."""
  rows = []
  for pair in grid:
    num_sampled, batch_tokens = (int(x) for x in pair.split(":"))
    config = BiLMConfig(encoder=EncoderConfig(dropout=0.1, word_dropout=0.0),
                        num_sampled=num_sampled)
    r = bilm_throughput(train_pattern, config, words, chars, batch_tokens, num_batches,
                        min_seconds)
    r.update(num_sampled=num_sampled, batch_tokens=batch_tokens)
    logging.info("num_sampled %d batch_tokens %d: %.0f tokens/s", num_sampled, batch_tokens,
                 r["train_tokens_per_sec"])
    rows.append(r)
  return rows
