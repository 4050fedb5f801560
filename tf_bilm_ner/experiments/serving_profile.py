"""Where a single-sentence request spends its time: the serving graph cut after each stage.

Each stage is its own `tf.function` over the same padded tokens [1, T] and lengths [1], each
one cumulative (it runs every stage before it, as the request does), timed like
`serving_speed.latency`: one sentence per call, sentences in file order, p50 over the calls.
The difference between consecutive stages is what that stage adds. Stages:

  call        tf.identity of the inputs: the price of calling a graph function at all
  features    + vocabulary lookups and the characters of each token (`Featurizer`)
  embed       + word embedding and character CNN
  bilstm      + both LSTMs (`layers/fused.py`'s one loop)
  potentials  + the tag projection (the tagger's output layer)
  crf         + Viterbi, marginals and backtrack (`fused.crf`)
  signature   the whole `serving_default` function (checks, names, padding back), in process
  signature_xla  the same with `ExportConfig.xla_max_tokens` (the model's arithmetic
              XLA-compiled for one-sentence requests), in process
  signature_top, signature_top_xla  `signature` and `signature_xla` of the same tagger with
              a top BiLSTM added (`with_top_lstm`): what the option costs a request
  saved_model the exported SavedModel's `serving_default`, loaded (what TF Serving runs)
  baseline    another SavedModel's `serving_default` (an earlier export), for an A/B in one
              process: this machine's small-op latency differs by a third between processes
  spacy_ner   spaCy's NER on the same sentences, in another process (`SpacyReference`):
              the reference of the same hour
  <name>_flat each signature stage above called through `serving/flat_call.FlatCall` (as
              `load_tagger` calls it: no Python argument binding), with
              `tools/profile_serving.py --flat_call`

The rounds interleave the stages (stage 1..n, then again), so that a slow minute of a shared
machine is spread over all of them.
"""
import dataclasses
import itertools
import json
import os
import subprocess
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.errors import UserError
from tf_bilm_ner.experiments import serving_speed
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.serving import export
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib

STAGES = ("call", "features", "embed", "bilstm", "potentials", "crf", "signature")


def module_from_run(run_dir: str) -> export.TaggerModule:
  """The export's module for a train_tagger run (best checkpoint, float32 word table, the
  default `ExportConfig`)."""
  tagger = checkpoints.restore_tagger(run_dir, "best")[0]
  return export.TaggerModule(tagger, run_dir_lib.paths(run_dir)["vocab"], export.ExportConfig())


def with_top_lstm(tagger: Tagger, units: int) -> Tagger:
  """`tagger` with a top BiLSTM of `units` per direction (`TaggerConfig.top_lstm_units`)
  added: the encoder's weights (the word table in its stored dtype) and the CRF's are the
  tagger's own; the top BiLSTM and the projection (whose input it widens) are random. For
  latency (wrap it in `export.TaggerModule`), which depends on the sizes only; its tags mean
  nothing."""
  if tagger.config.top_lstm_units:
    raise UserError(f"the tagger has a top BiLSTM already ({tagger.config.top_lstm_units} units)")
  top = Tagger(dataclasses.replace(tagger.config, top_lstm_units=units))
  checkpoints.build_variables(top)
  top.encoder.word_embedding = tagger.encoder.word_embedding   # float16 storage as exported
  for mine, theirs in ((top.encoder.variables, tagger.encoder.variables),
                       (top.crf.variables, tagger.crf.variables)):
    if [v.shape for v in mine] != [v.shape for v in theirs]:
      raise ValueError("the tagger's variables do not match its config")
    for a, b in zip(mine, theirs):
      a.assign(b)
  return top


def stage_functions(module: export.TaggerModule) -> Dict[str, Callable]:
  """{stage: tf.function(tokens [1, T] string, lengths [1] int32) -> a tensor}."""
  tagger = module.tagger
  spec = [export.TOKENS_SIGNATURE["tokens"], export.TOKENS_SIGNATURE["lengths"]]

  def upto(stage):
    def fn(tokens, lengths):
      if stage == "call":
        return tf.identity(tokens)
      features = module.features(tokens, lengths)
      if stage == "features":
        return features["char_ids"]
      x = tagger.encoder.embed(features, training=False, fused=True)
      if stage == "embed":
        return x
      if stage == "bilstm":
        return tf.concat(tagger.encoder(features, training=False, fused=True), -1)
      potentials = tagger(features, training=False, fused=True)
      if stage == "potentials":
        return potentials
      return tagger.crf.decode_with_marginals(potentials, lengths)[2]
    return tf.function(fn, input_signature=spec)

  fns = {stage: upto(stage) for stage in STAGES[:-1]}
  fns["signature"] = as_stage(module.signatures()["serving_default"])
  return fns


def profile(fns: Dict[str, Callable], sentences: Sequence[Sequence[str]], calls: int,
            rounds: int = 5, external: Optional[Dict[str, Callable]] = None
            ) -> Dict[str, dict]:
  """p50/p90/p99 ms per stage over `calls` single-sentence calls, in `rounds` interleaved
  rounds; each of `STAGES`' `adds_ms` is its p50 minus the previous stage's (None for the
  others). `external`: {name: fn(list of token lists) -> ms per sentence}, timed elsewhere
  (`SpacyReference`) on the same sentences, in the same rounds."""
  external = external or {}
  inputs = serving_speed.single_sentences(sentences, calls)
  words = [list(sentences[i % len(sentences)]) for i in range(calls)]  # the same, as lists
  for fn in fns.values():  # trace and warm up every stage on a few lengths
    serving_speed.call_times(fn, inputs[:5])
  for fn in external.values():
    fn(words[:5])
  times: Dict[str, List[float]] = {name: [] for name in (*fns, *external)}
  per_round = (calls + rounds - 1) // rounds
  for r in range(rounds):
    part = slice(r * per_round, (r + 1) * per_round)
    for name, fn in fns.items():
      times[name].extend(serving_speed.call_times(fn, inputs[part]))
    for name, fn in external.items():
      times[name].extend(fn(words[part]))
  out, previous = {}, 0.0
  for name in times:
    row = serving_speed.percentiles(times[name])
    row["adds_ms"] = row["p50_ms"] - previous if name in STAGES else None
    previous = row["p50_ms"] if name in STAGES else previous
    out[name] = row
  return out


def first_calls(fn: Callable, sentences: Sequence[Sequence[str]],
                lengths: Sequence[int]) -> List[dict]:
  """The price of a first request at each length (an XLA export compiles there): for each
  of `lengths`, a sentence of that many tokens (the corpus' tokens in order, cycled) called
  twice: [{tokens, first_ms, second_ms}]. Run before anything else calls `fn`."""
  tokens = itertools.cycle([token for sentence in sentences for token in sentence])
  out = []
  for n in lengths:
    inputs = [(tf.constant([list(itertools.islice(tokens, n))]), tf.constant([n], tf.int32))] * 2
    first, second = serving_speed.call_times(fn, inputs)
    out.append({"tokens": n, "first_ms": first, "second_ms": second})
  return out


def compare(signatures: Dict[str, Callable], sentences: Sequence[Sequence[str]]) -> dict:
  """Every sentence alone through two serving_default signatures ({name: fn}): how many
  sentences got different tags, and the largest difference of a tag_confidence."""
  first, second = signatures.values()
  differ, most = 0, 0.0
  for tokens, lengths in serving_speed.single_sentences(sentences, len(sentences)):
    a, b = (fn(tokens=tokens, lengths=lengths) for fn in (first, second))
    differ += int(not np.array_equal(a["tag_ids"].numpy(), b["tag_ids"].numpy()))
    most = max(most, float(np.max(np.abs(a["tag_confidence"] - b["tag_confidence"]))))
  return {"sentences": len(sentences), "different_tags": differ, "max_confidence_diff": most}


def throughput(fns: Dict[str, Callable], sentences: Sequence[Sequence[str]], batch_size: int,
               seconds: float, rounds: int = 3) -> Dict[str, dict]:
  """serving_default tokens/s of each SavedModel function (keyword signature) at
  `batch_size`, `rounds` interleaved rounds of `seconds` each: {name: {tokens_per_sec
  (median of the rounds), rounds: [...]}}."""
  per_round: Dict[str, List[float]] = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      per_round[name].append(serving_speed.throughput(fn, sentences, batch_size,
                                                      seconds)["tokens_per_sec"])
  return {name: {"batch_size": batch_size, "tokens_per_sec": float(np.median(v)),
                 "rounds": v} for name, v in per_round.items()}


class SpacyReference:
  """spaCy's NER in a worker process (`spacy_worker.py`, run by `python`, a Python with
  spaCy): called with a list of token lists, it returns the milliseconds of each sentence's
  `ner(doc)`. `info`: spaCy's version and the component's config. Use as a context manager
  (the worker ends with it)."""

  def __init__(self, python: str):
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spacy_worker.py")
    try:
      self._proc = subprocess.Popen([python, worker], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    except OSError as e:
      raise UserError(f"--spacy_python: cannot start {python}: {e}") from None
    first = self._proc.stdout.readline()
    if not first:
      self.close()
      raise UserError(f"--spacy_python: {python} {worker} ended without an answer (is spaCy "
                      "installed there?)")
    self.info = json.loads(first)

  def __call__(self, sentences: Sequence[Sequence[str]]) -> List[float]:
    self._proc.stdin.write(json.dumps([list(s) for s in sentences]) + "\n")
    self._proc.stdin.flush()
    return json.loads(self._proc.stdout.readline())

  def close(self) -> None:
    self._proc.stdin.close()
    self._proc.wait(timeout=60)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def load_signature(path: str) -> Callable:
  """A SavedModel's serving_default (keyword arguments tokens, lengths)."""
  return tf.saved_model.load(path).signatures["serving_default"]


def as_stage(signature: Callable) -> Callable:
  """A serving_default signature as a stage function: (tokens, lengths) -> tags."""
  return lambda tokens, lengths: signature(tokens=tokens, lengths=lengths)["tags"]
