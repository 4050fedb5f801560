"""Inference speed of an exported SavedModel: throughput by batch size and single-sentence latency.

Calls the loaded signatures in-process (what TF Serving runs per request, minus
its RPC and JSON handling). Sentences come from a real CoNLL file, taken in
order and cycled, padded to the longest in each batch as a client would.
"""
import time
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from absl import logging


def padded_batch(sentences: Sequence[Sequence[str]], start: int, size: int):
  rows = [sentences[(start + i) % len(sentences)] for i in range(size)]
  width = max(len(r) for r in rows)
  tokens = tf.constant([list(r) + [""] * (width - len(r)) for r in rows])
  return tokens, tf.constant([len(r) for r in rows], tf.int32), sum(len(r) for r in rows)


def single_sentences(sentences: Sequence[Sequence[str]], calls: int):
  """[(tokens [1, T], lengths [1])] of `calls` sentences in file order, cycled."""
  return [padded_batch(sentences, i, 1)[:2] for i in range(calls)]


def call_times(fn, inputs) -> List[float]:
  """Milliseconds of each call `fn(tokens, lengths)` (its result fetched) over `inputs`."""
  times = []
  for tokens, lengths in inputs:
    start = time.perf_counter()
    fn(tokens, lengths).numpy()
    times.append(1000.0 * (time.perf_counter() - start))
  return times


def mean_tokens(sentences: Sequence[Sequence[str]], calls: int) -> float:
  """Mean length of the sentences `single_sentences` gives for `calls` calls."""
  return float(np.mean([len(sentences[i % len(sentences)]) for i in range(calls)]))


def throughput(fn, sentences: Sequence[Sequence[str]], batch_size: int,
               min_seconds: float) -> Dict[str, float]:
  """Tokens/s and sentences/s of `fn` (serving_default) at `batch_size`, batches prebuilt."""
  batches = [padded_batch(sentences, i * batch_size, batch_size)
             for i in range(max(1, min(len(sentences) // batch_size, 64)))]
  fn(tokens=batches[0][0], lengths=batches[0][1])  # warm-up
  tokens = sents = 0
  start = time.perf_counter()
  i = 0
  while time.perf_counter() - start < min_seconds:
    t, n, count = batches[i % len(batches)]
    fn(tokens=t, lengths=n)["tags"].numpy()
    tokens, sents, i = tokens + count, sents + batch_size, i + 1
  secs = time.perf_counter() - start
  return {"batch_size": batch_size, "tokens_per_sec": tokens / secs,
          "sentences_per_sec": sents / secs, "calls": i, "seconds": secs}


def latency(fn, sentences: Sequence[Sequence[str]], calls: int) -> Dict[str, float]:
  """p50/p90/p99 milliseconds of single-sentence calls (sentences in file order)."""
  inputs = single_sentences(sentences, calls)
  tags = lambda tokens, lengths: fn(tokens=tokens, lengths=lengths)["tags"]
  tags(*inputs[0])  # warm-up
  return {"calls": calls, **percentiles(call_times(tags, inputs)),
          "mean_tokens": mean_tokens(sentences, calls)}


def percentiles(times_ms: Sequence[float]) -> Dict[str, float]:
  """p50_ms, p90_ms, p99_ms of call times in milliseconds."""
  q = np.percentile(times_ms, [50, 90, 99])
  return {"p50_ms": float(q[0]), "p90_ms": float(q[1]), "p99_ms": float(q[2])}


def text_throughput(fn, docs: Sequence[str], batch_size: int,
                    min_seconds: float) -> Dict[str, float]:
  """Characters/s and documents/s of the raw-text signature at `batch_size` documents."""
  batches = [tf.constant([docs[(i * batch_size + j) % len(docs)] for j in range(batch_size)])
             for i in range(max(1, min(len(docs) // batch_size, 16)))]
  fn(text=batches[0])
  chars = n = 0
  start = time.perf_counter()
  i = 0
  while time.perf_counter() - start < min_seconds:
    b = batches[i % len(batches)]
    fn(text=b)["num_entities"].numpy()
    chars += int(tf.reduce_sum(tf.strings.length(b, unit="UTF8_CHAR")))
    n, i = n + batch_size, i + 1
  secs = time.perf_counter() - start
  return {"batch_size": batch_size, "chars_per_sec": chars / secs, "docs_per_sec": n / secs}


def benchmark(saved_model: str, sentences: Sequence[Sequence[str]], batch_sizes: Sequence[int],
              min_seconds: float, latency_calls: int) -> dict:
  """`tools/benchmark_serving.py`'s measurements: serving_default throughput per batch size,
  single-sentence latency, and tag_text throughput on documents of 8 sentences."""
  model = tf.saved_model.load(saved_model)
  fn = model.signatures["serving_default"]
  rows = []
  for b in batch_sizes:
    rows.append(throughput(fn, sentences, b, min_seconds))
    logging.info("batch %s: %.0f tokens/s, %.1f sentences/s", b, rows[-1]["tokens_per_sec"],
                 rows[-1]["sentences_per_sec"])
  lat = latency(fn, sentences, latency_calls)
  logging.info("single sentence: p50 %.2f ms, p99 %.2f ms", lat["p50_ms"], lat["p99_ms"])
  docs = [" ".join(" ".join(s) for s in sentences[g:g + 8]) for g in range(0, len(sentences), 8)]
  text = [text_throughput(model.signatures["tag_text"], docs, b, min_seconds) for b in (1, 32)]
  for r in text:
    logging.info("tag_text batch %d: %.0f chars/s", r["batch_size"], r["chars_per_sec"])
  return {"saved_model": saved_model, "serving_default": rows, "latency": lat, "tag_text": text}
