"""Tagging raw text as a user does (`load_tagger`), scored and timed against a CoNLL test set.

The CoNLL files hold tokens, not the abstracts' text, so documents are rebuilt: each
sentence's tokens are joined as running text is written (`detokenize`: no space before
, . ; : ) ] % or after ( [, none inside a decimal number), and consecutive sentences are
grouped into `count` documents. Gold entities become character spans of that text. The
tagger sees only the text: it tokenises and splits sentences itself, so the score measures
what the raw-text path (tokenizer, sentence splitter, span offsets) loses against the
CoNLL score of the same model, where the gold tokens and sentences are given.
"""
import os
import shutil
import tempfile
import time
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

from absl import logging

from tf_bilm_ner import metrics
from tf_bilm_ner.data.conll import Sentence, read_conll
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.evaluation import score_dict
from tf_bilm_ner.experiments import serving_speed
from tf_bilm_ner.metrics import chunks
from tf_bilm_ner.serving import shipping
from tf_bilm_ner.serving import text_tagger

GoldSpan = Tuple[int, int, str]  # start, end (code points), type


class Document(NamedTuple):
  text: str
  gold: List[GoldSpan]
  sentences: List[Sentence]


def detokenize(tokens: Sequence[str]) -> Tuple[str, List[Tuple[int, int]]]:
  """Tokens -> (running text, (start, end) of each token in it)."""
  text, offsets = "", []
  for i, t in enumerate(tokens):
    decimal = i >= 2 and tokens[i - 1] == "." and t[0].isdigit() and tokens[i - 2][-1].isdigit()
    if i and not (t in ".,;:)]%" or text[-1] in "([" or decimal):
      text += " "
    offsets.append((len(text), len(text) + len(t)))
    text += t
  return text, offsets


def documents(sentences: Sequence[Sentence], count: int) -> List[Document]:
  """Consecutive sentences in `count` groups of near-equal size (file order), as texts with
  their gold spans."""
  if not 1 <= count <= len(sentences):
    raise ValueError(f"documents: count must be in [1, {len(sentences)}], got {count}")
  out = []
  for group in np.array_split(np.arange(len(sentences)), count):
    text, gold = "", []
    for k in group:
      s = sentences[k]
      body, offsets = detokenize(s.tokens)
      base = len(text) + (1 if text else 0)
      text += (" " if text else "") + body
      gold += [(base + offsets[i][0], base + offsets[j - 1][1], typ)
               for typ, i, j in chunks(s.tags)]
    out.append(Document(text, gold, [sentences[k] for k in group]))
  return out


def score(gold: Sequence[Sequence[GoldSpan]], predicted: Sequence[Sequence[GoldSpan]]) -> dict:
  """Exact-span micro and per-type scores (percent; as scores.json has them), per document."""
  return score_dict(*metrics.set_scores([set(g) for g in gold], [set(p) for p in predicted],
                                        type_of=lambda span: span[2]))


def evaluate(tagger, docs: Sequence[Document]) -> dict:
  """`tagger` (a TextTagger of one model) on the documents' text -> `score` plus the
  sentence count the splitter found against the gold one."""
  spans = tagger([d.text for d in docs])
  report = score([d.gold for d in docs], [[(s.start, s.end, s.type) for s in doc]
                                          for doc in spans])
  report["sentences"] = {"gold": sum(len(d.sentences) for d in docs),
                         "split": len(tagger.sentences([d.text for d in docs]))}
  return report


def throughput(tagger, texts: Sequence[str], min_seconds: float) -> Dict[str, float]:
  """Documents/s of `tagger(texts)` (all texts per call), after one warm-up call."""
  tagger(list(texts))
  calls, start = 0, time.perf_counter()
  while calls == 0 or time.perf_counter() - start < min_seconds:
    tagger(list(texts))
    calls += 1
  secs = time.perf_counter() - start
  return {"documents": len(texts), "calls": calls, "seconds": secs,
          "documents_per_sec": calls * len(texts) / secs,
          "characters_per_sec": calls * sum(len(t) for t in texts) / secs}


def latency(tagger, texts: Sequence[str], calls: int) -> Dict[str, float]:
  """p50/p90/p99 milliseconds of `tagger(text)`, one short text per call (in order, cycled)."""
  tagger(texts[0])
  times = []
  for i in range(calls):
    start = time.perf_counter()
    tagger(texts[i % len(texts)])
    times.append(1000.0 * (time.perf_counter() - start))
  return dict(calls=calls, **serving_speed.percentiles(times))


def several_models(models: Sequence[str], texts: Sequence[str], min_seconds: float) -> dict:
  """Documents/s of one `load_tagger("a,b,...")` pass against the models one by one (the
  time of each alone, summed). A model named twice is copied, so the pass really runs it
  twice."""
  tmp = tempfile.mkdtemp(prefix="several_models_")
  try:
    named, seen = [], set()
    for i, model in enumerate(models):
      path = text_tagger.resolve(model)[0][1]
      if os.path.realpath(path) in seen:  # load_tagger would tag a model given twice once
        path = shutil.copytree(path, os.path.join(tmp, f"{model}_{i}"))
      seen.add(os.path.realpath(path))
      named.append(path)
    one_pass = throughput(text_tagger.load_tagger(named), texts, min_seconds)
    alone = [throughput(text_tagger.load_tagger(p), texts, min_seconds) for p in named]
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  seconds_alone = sum(len(texts) / a["documents_per_sec"] for a in alone)
  return {"models": list(models), "one_pass": one_pass, "alone": alone,
          "one_pass_seconds_per_call": len(texts) / one_pass["documents_per_sec"],
          "alone_seconds_per_call_summed": seconds_alone}


def benchmark(model: str, data: str, count: int, several: Sequence[str], latency_calls: int,
              min_seconds: float) -> dict:
  """tools/benchmark_raw_text.py's measurements (see there) of one model on `data`."""
  sentences = read_conll(data)
  docs = documents(sentences, count)
  tagger = text_tagger.load_tagger(model)
  if len(tagger.models) != 1:
    raise UserError(f"{model}: one model expected (several go to `several`)")
  path = text_tagger.resolve(model)[0][1]
  report = {"model": model, "model_path": path, "documents": len(docs),
            "characters": sum(len(d.text) for d in docs),
            "conll": shipping.score_saved_model(path, data), "raw_text": evaluate(tagger, docs)}
  logging.info("F1 from raw text %.2f, from CoNLL tokens %.2f",
               report["raw_text"]["micro"]["f1"], report["conll"]["micro"]["f1"])
  texts = [d.text for d in docs]
  report["throughput"] = throughput(tagger, texts, min_seconds)
  logging.info("%.1f documents/s", report["throughput"]["documents_per_sec"])
  tokens = [s.tokens for s in sentences]
  report["latency_serving_default"] = serving_speed.latency(
      tagger.models[0][1].serving_default, tokens, latency_calls)
  report["latency_text_tagger"] = latency(tagger, [detokenize(t)[0] for t in tokens],
                                          latency_calls)
  logging.info("one sentence: serving_default p50 %.2f ms, tagger(text) p50 %.2f ms",
               report["latency_serving_default"]["p50_ms"],
               report["latency_text_tagger"]["p50_ms"])
  if several:
    report["several"] = several_models(several, texts, min_seconds)
  return report
