"""A minimum entity score: drop the predicted entities the CRF is least sure of.

An entity's score is the lowest CRF marginal of its tags (the serving signatures'
`entity_score`). BiLM-initialised taggers predict more entities than there are (recall above
precision on every dataset, results/README.md); dropping the entities under a threshold trades
recall for precision. The threshold is chosen on devel (`choose`), never on test.
"""
import json
import os
from typing import Dict, List, Sequence

from tf_bilm_ner import metrics
from tf_bilm_ner.config import ConfigError

GRID = tuple(i / 20 for i in range(20))  # 0.0, 0.05, ..., 0.95


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


def at(curve: Sequence[Dict], min_score: float) -> Dict:
  """The row of `curve` for `min_score`."""
  return next(row for row in curve if row["min_score"] == min_score)


def resolve(value: str, run_dir: str) -> float:
  """A minimum entity score given as a number in [0, 1), or "devel": the one a run chose on
  devel at the end of training (`<run_dir>/eval/scores.json`, "entity_threshold")."""
  if value != "devel":
    try:
      score = float(value)
    except ValueError:
      score = -1.0
    if not 0.0 <= score < 1.0:
      raise ConfigError(f"a minimum entity score is a number in [0, 1) or 'devel', got {value!r}")
    return score
  path = os.path.join(run_dir, "eval", "scores.json")
  try:
    with open(path, encoding="utf-8") as f:
      return float(json.load(f)["entity_threshold"]["min_entity_score"])
  except (OSError, ValueError, KeyError) as e:
    raise ConfigError(f"{path}: no minimum entity score chosen on devel ({type(e).__name__}: "
                      f"{e}); runs scored on devel and test at the end of training have one"
                      ) from None
