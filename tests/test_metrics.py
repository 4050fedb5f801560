"""Entity scores against seqeval on real tagger predictions and on corrupted gold."""
import glob
import os

import numpy as np
import tensorflow as tf
from seqeval import metrics as seqeval_metrics
from seqeval.scheme import IOB2

from tf_bilm_ner import metrics
from tf_bilm_ner.data.conll import read_conll

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "tests", "testdata")


def _read_three_columns(path):
  gold, pred, g, p = [], [], [], []
  with open(path, encoding="utf-8") as f:
    for line in f:
      if not line.strip():
        if g:
          gold.append(g)
          pred.append(p)
        g, p = [], []
        continue
      _, gt, pt = line.rstrip("\n").split("\t")
      g.append(gt)
      p.append(pt)
  return gold, pred


def _is_valid_iob2(tags):
  prev = "O"
  for t in tags:
    if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
      return False
    prev = t
  return True


class MetricsTest(tf.test.TestCase):

  def assertAgreesWithSeqeval(self, gold, pred, strict):
    micro, per_type = metrics.entity_scores(gold, pred)
    kw = dict(mode="strict", scheme=IOB2) if strict else {}
    self.assertAllClose(micro.precision, 100 * seqeval_metrics.precision_score(gold, pred, **kw))
    self.assertAllClose(micro.recall, 100 * seqeval_metrics.recall_score(gold, pred, **kw))
    self.assertAllClose(micro.f1, 100 * seqeval_metrics.f1_score(gold, pred, **kw))
    report = seqeval_metrics.classification_report(gold, pred, output_dict=True, **kw)
    for t, s in per_type.items():
      self.assertAllClose(s.f1, 100 * report[t]["f1-score"])
      self.assertEqual(s.num_gold, report[t]["support"])

  def test_real_predictions(self):
    files = sorted(glob.glob(os.path.join(ROOT, "results", "**", "*predictions.conll"),
                             recursive=True))
    self.assertNotEmpty(files, "the committed benchmark predictions are missing from results/")
    for path in files:
      gold, pred = _read_three_columns(path)
      self.assertGreater(len(gold), 500)
      # seqeval's default mode reads ill-formed I-X the way conlleval does.
      self.assertAgreesWithSeqeval(gold, pred, strict=False)
      valid = [i for i, p in enumerate(pred) if _is_valid_iob2(p)]
      self.assertAgreesWithSeqeval([gold[i] for i in valid], [pred[i] for i in valid], strict=True)

  def test_corrupted_gold_two_types(self):
    rng = np.random.RandomState(0)
    gold = [s.tags for s in read_conll(os.path.join(TESTDATA, "ncbi_devel_head.tsv"))]
    gold = [[t.replace("Disease", "Chem") if i % 3 == 0 else t for t in g]
            for i, g in enumerate(gold)]
    choices = ["O", "B-Disease", "I-Disease", "B-Chem", "I-Chem"]
    pred = [[rng.choice(choices) if rng.rand() < 0.15 else t for t in g] for g in gold]
    self.assertAgreesWithSeqeval(gold, pred, strict=False)

  def test_conlleval_reading_of_chunks(self):
    self.assertEqual(metrics.chunks(["I-X", "I-X", "B-X", "I-Y", "O", "B-X"]),
                     [("X", 0, 2), ("X", 2, 3), ("Y", 3, 4), ("X", 5, 6)])
    micro, _ = metrics.entity_scores([["B-X", "I-X", "O"]], [["B-X", "O", "O"]])
    self.assertEqual((micro.num_gold, micro.num_predicted, micro.num_correct), (1, 1, 0))
    micro, _ = metrics.entity_scores([["O"]], [["O"]])
    self.assertEqual(micro.f1, 0.0)

  def test_untyped_scores_boundaries_only(self):
    gold = [["B-DNA", "I-DNA", "O", "B-protein", "B-RNA"]]
    pred = [["B-protein", "I-protein", "O", "B-protein", "O"]]
    typed, _ = metrics.entity_scores(gold, pred)
    self.assertEqual((typed.num_gold, typed.num_predicted, typed.num_correct), (3, 2, 1))
    untyped, per_type = metrics.entity_scores([metrics.untyped(g) for g in gold],
                                              [metrics.untyped(p) for p in pred])
    self.assertEqual((untyped.num_gold, untyped.num_predicted, untyped.num_correct), (3, 2, 2))
    self.assertEqual(list(per_type), [""])
    # As in an untyped file, I- after an entity of another type continues it.
    self.assertEqual(metrics.untyped(["B-DNA", "I-protein", "O"]), ["B", "I", "O"])
    self.assertEqual(metrics.chunks(metrics.untyped(["B-DNA", "I-protein"])), [("", 0, 2)])


if __name__ == "__main__":
  tf.test.main()
