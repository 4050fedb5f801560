"""Does a minimum entity score (`tf_bilm_ner/entity_threshold.py`), chosen on devel, raise
test F1? A probe of a tagger SavedModel: it tags devel and test with the SavedModel's
`serving_default` (its `tags` and `tag_confidence`), sweeps the threshold on devel, and scores
test at the devel-chosen threshold and at 0 (the tagger as it is).
"""
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tf_bilm_ner import entity_threshold as threshold
from tf_bilm_ner.data.conll import Sentence


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


def probe(signature: Callable, devel: Sequence[Sentence], test: Sequence[Sentence],
          grid: Sequence[float] = threshold.GRID) -> Dict:
  """{"chosen": threshold, "devel": curve, "test": curve, "test_f1_at_0", "test_f1_chosen"}
  (test's curve is reported, never used to choose)."""
  curves = {}
  for name, sentences in (("devel", devel), ("test", test)):
    tags, confidences = tag(signature, sentences)
    curves[name] = threshold.sweep([s.tags for s in sentences], tags, confidences, grid)
  chosen = threshold.choose(curves["devel"])
  return {"chosen": chosen, "devel": curves["devel"], "test": curves["test"],
          "test_f1_at_0": threshold.at(curves["test"], grid[0])["f1"],
          "test_f1_chosen": threshold.at(curves["test"], chosen)["f1"]}
