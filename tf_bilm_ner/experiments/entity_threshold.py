"""Does a minimum entity score, chosen on devel, raise test F1? A probe of a tagger SavedModel.

BiLM-initialised taggers predict more entities than there are (recall above precision on
every dataset, results/README.md). The serving signatures score each entity by the lowest CRF
marginal of its tags (`tag_text`'s `entity_score`); dropping the entities under a threshold
trades recall for precision. This tags devel and test with a SavedModel's `serving_default`
(its `tags` and `tag_confidence`), sweeps the threshold on devel, and scores test at the
devel-chosen threshold and at 0 (the tagger as it is).
"""
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tf_bilm_ner import metrics
from tf_bilm_ner.data.conll import Sentence

GRID = tuple(i / 20 for i in range(20))  # 0.0, 0.05, ..., 0.95


def tag(signature: Callable, sentences: Sequence[Sentence], batch: int = 64
        ) -> Tuple[List[List[str]], List[np.ndarray]]:
  """IOB2 tags and each tag's CRF marginal ([T] float32) per sentence, from a
  `serving_default` signature, `batch` sentences per call."""
  tags, confidences = [], []
  for i in range(0, len(sentences), batch):
    chunk = sentences[i:i + batch]
    width = max(1, max(len(s.tokens) for s in chunk))
    tokens = [list(s.tokens) + [""] * (width - len(s.tokens)) for s in chunk]
    out = signature(tokens=tf.constant(tokens),
                    lengths=tf.constant([len(s.tokens) for s in chunk], tf.int32))
    names, conf = out["tags"].numpy(), out["tag_confidence"].numpy()
    for row, s in enumerate(chunk):
      n = len(s.tokens)
      tags.append([t.decode() for t in names[row, :n]])
      confidences.append(conf[row, :n])
  return tags, confidences


def keep_confident(tags: Sequence[str], confidence: Sequence[float],
                   min_score: float) -> List[str]:
  """One sentence's IOB2 tags with every entity (conlleval's chunks) whose lowest tag
  confidence is under `min_score` turned into O."""
  out = list(tags)
  for _, start, end in metrics.chunks(tags):
    if min(confidence[start:end]) < min_score:
      out[start:end] = ["O"] * (end - start)
  return out


def sweep(gold: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
          confidences: Sequence[Sequence[float]], grid: Sequence[float] = GRID) -> List[Dict]:
  """Micro P / R / F1 at each threshold of `grid`: [{"min_score", "precision", "recall",
  "f1", "num_predicted"}]."""
  rows = []
  for min_score in grid:
    kept = [keep_confident(t, c, min_score) for t, c in zip(tags, confidences)]
    micro, _ = metrics.entity_scores(gold, kept)
    rows.append({"min_score": float(min_score), "precision": micro.precision,
                 "recall": micro.recall, "f1": micro.f1, "num_predicted": micro.num_predicted})
  return rows


def choose(curve: Sequence[Dict]) -> float:
  """The threshold of the highest F1; among equal F1s the lowest threshold (the tagger
  unchanged where nothing beats it)."""
  return min(curve, key=lambda row: (-row["f1"], row["min_score"]))["min_score"]


def probe(signature: Callable, devel: Sequence[Sentence], test: Sequence[Sentence],
          grid: Sequence[float] = GRID) -> Dict:
  """{"chosen": threshold, "devel": curve, "test": curve, "test_f1_at_0", "test_f1_chosen"}
  (test's curve is reported, never used to choose)."""
  curves = {}
  for name, sentences in (("devel", devel), ("test", test)):
    tags, confidences = tag(signature, sentences)
    curves[name] = sweep([s.tags for s in sentences], tags, confidences, grid)
  chosen = choose(curves["devel"])
  at = lambda threshold: next(r["f1"] for r in curves["test"] if r["min_score"] == threshold)
  return {"chosen": chosen, "devel": curves["devel"], "test": curves["test"],
          "test_f1_at_0": at(grid[0]), "test_f1_chosen": at(chosen)}
