"""Exact-match entity-level precision, recall and F1, as conlleval defines them.

A chunk starts at `B-X`, or at `I-X` whose previous tag is `O` or of another
type; it continues over following `I-X` tags. A predicted entity counts as
correct only if its type, first and last token all equal a gold entity's.
Scores are in percent, like conlleval's.
"""
import collections
import dataclasses
from typing import Callable, Dict, List, Sequence, Set, Tuple

Chunk = Tuple[str, int, int]  # (type, first token, last token + 1)


def chunks(tags: Sequence[str]) -> List[Chunk]:
  """Entity chunks of one sentence's IOB tags, with conlleval's reading of bad I-X."""
  out, start, ctype = [], None, None
  for i, tag in enumerate(list(tags) + ["O"]):
    prefix, typ = (tag[0], tag[2:]) if tag != "O" else ("O", None)
    begins = prefix == "B" or (prefix == "I" and typ != ctype)
    if start is not None and (prefix == "O" or begins):
      out.append((ctype, start, i))
      start, ctype = None, None
    if begins:
      start, ctype = i, typ
  return out


@dataclasses.dataclass
class Score:
  precision: float
  recall: float
  f1: float
  num_gold: int
  num_predicted: int
  num_correct: int

  @classmethod
  def from_counts(cls, gold: int, pred: int, correct: int) -> "Score":
    p = 100.0 * correct / pred if pred else 0.0
    r = 100.0 * correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return cls(p, r, f, gold, pred, correct)


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
                  ) -> Tuple[Score, Dict[str, Score]]:
  """Micro-averaged score over all types, and one score per type.

  Args:
    gold: per sentence, the gold tags.
    predicted: per sentence, the predicted tags; same lengths as `gold`.
  """
  if len(gold) != len(predicted):
    raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
  for i, (g, p) in enumerate(zip(gold, predicted)):
    if len(g) != len(p):
      raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
  return set_scores([set(chunks(g)) for g in gold], [set(chunks(p)) for p in predicted],
                    type_of=lambda c: c[0])


def untyped(tags: Sequence[str]) -> List[str]:
  """Tags with their entity types removed (`B-DNA` -> `B`), as BioBERT's NER files are:
  `entity_scores` of untyped tags scores entity boundaries only (BioBERT's JNLPBA and
  BC5CDR figures are such scores)."""
  return [t[0] if t != "O" else t for t in tags]


def set_scores(gold: Sequence[Set], predicted: Sequence[Set], type_of: Callable
               ) -> Tuple[Score, Dict[str, Score]]:
  """`entity_scores` of entities already collected: per unit (sentence, document), the gold
  and the predicted entities as sets of hashable items; `type_of(item)` is its type."""
  counts = collections.defaultdict(lambda: [0, 0, 0])  # type -> gold, pred, correct
  for g, p in zip(gold, predicted):
    for items, k in ((g, 0), (p, 1), (g & p, 2)):
      for item in items:
        counts[type_of(item)][k] += 1
  per_type = {t: Score.from_counts(*v) for t, v in sorted(counts.items())}
  total = [sum(v[k] for v in counts.values()) for k in range(3)]
  return Score.from_counts(*total), per_type


def format_scores(micro: Score, per_type: Dict[str, Score]) -> str:
  """A conlleval-like table."""
  lines = [f"{'type':<14}{'prec':>8}{'rec':>8}{'F1':>8}{'gold':>8}{'pred':>8}",
           f"{'ALL':<14}{micro.precision:8.2f}{micro.recall:8.2f}{micro.f1:8.2f}"
           f"{micro.num_gold:8d}{micro.num_predicted:8d}"]
  for t, s in per_type.items():
    lines.append(f"{t:<14}{s.precision:8.2f}{s.recall:8.2f}{s.f1:8.2f}"
                 f"{s.num_gold:8d}{s.num_predicted:8d}")
  return "\n".join(lines)
