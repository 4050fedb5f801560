"""Majority vote over several taggers' predictions of the same sentences.

An entity (type, first token, end) is kept when more than half of the taggers predict it
exactly. A strict majority never keeps two overlapping entities: both would need a tagger
that predicted both, and one tagger's entities do not overlap.
"""
from collections import Counter
from typing import List, Sequence

from tf_bilm_ner import metrics


def vote(predictions: Sequence[Sequence[str]]) -> List[str]:
  """One sentence's IOB2 tags from each of n >= 1 taggers (equal lengths) -> the IOB2
  tags of the entities more than n / 2 of them predict."""
  if not predictions:
    raise ValueError("vote needs the predictions of at least one tagger")
  length = len(predictions[0])
  if any(len(p) != length for p in predictions):
    raise ValueError(f"predictions of different lengths: {[len(p) for p in predictions]}")
  counts = Counter(chunk for tags in predictions for chunk in metrics.chunks(tags))
  out = ["O"] * length
  for (kind, start, end), n in counts.items():
    if 2 * n > len(predictions):
      out[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
  return out
