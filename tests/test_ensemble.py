"""Majority vote over taggers' predictions: hand-worked cases, and the binary's scores
against metrics.entity_scores on files it reads back."""
import json
import os
import tempfile
import unittest

from tests import helpers
from tf_bilm_ner import ensemble, metrics
from tf_bilm_ner.data.conll import Sentence, read_conll, write_conll


class VoteTest(unittest.TestCase):

  def test_strict_majority_of_exact_entities(self):
    a = ["B-Dis", "I-Dis", "O", "B-Chem", "O"]
    b = ["B-Dis", "I-Dis", "O", "O", "B-Chem"]
    c = ["B-Dis", "O", "O", "B-Chem", "O"]
    # Dis 0-2 by a and b; Chem 3 by a and c; Chem 4 and Dis 0-1 by one each.
    self.assertEqual(ensemble.vote([a, b, c]), ["B-Dis", "I-Dis", "O", "B-Chem", "O"])
    self.assertEqual(ensemble.vote([a]), a)
    # Two of four is not more than half; three of four is.
    self.assertEqual(ensemble.vote([a, b, c, ["O"] * 5]), ["O"] * 5)
    self.assertEqual(ensemble.vote([a, b, c, a]), ["B-Dis", "I-Dis", "O", "B-Chem", "O"])
    # Same span, another type: a different entity.
    self.assertEqual(ensemble.vote([["B-X"], ["B-Y"], ["B-X"]]), ["B-X"])
    # An I- after O begins an entity (conlleval's reading), voted as one.
    self.assertEqual(ensemble.vote([["O", "I-X"], ["O", "B-X"], ["O", "O"]]), ["O", "B-X"])

  def test_bad_calls(self):
    with self.assertRaisesRegex(ValueError, "at least one"):
      ensemble.vote([])
    with self.assertRaisesRegex(ValueError, "different lengths"):
      ensemble.vote([["O"], ["O", "O"]])


class VoteBinaryTest(unittest.TestCase):

  def test_binary(self):
    tmp = tempfile.mkdtemp()
    gold = [Sentence(["a", "b", "c"], ["B-X", "I-X", "O"]), Sentence(["d", "e"], ["O", "B-Y"])]
    preds = [[["B-X", "I-X", "O"], ["O", "O"]],
             [["B-X", "O", "O"], ["O", "B-Y"]],
             [["B-X", "I-X", "O"], ["O", "B-Y"]]]
    gold_path = os.path.join(tmp, "gold.tsv")
    write_conll(gold_path, gold)
    paths = []
    for i, p in enumerate(preds):
      paths.append(os.path.join(tmp, f"p{i}.conll"))
      write_conll(paths[-1], gold, p)
    out, voted = os.path.join(tmp, "vote.json"), os.path.join(tmp, "vote.conll")
    proc = helpers.run_tool("vote_predictions.py", f"--gold={gold_path}",
                            f"--predictions={','.join(paths)}", f"--out={out}",
                            f"--output_conll={voted}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(out, encoding="utf-8") as f:
      result = json.load(f)
    gold_tags = [s.tags for s in gold]
    for p, scores in zip(preds, result["taggers"]):
      self.assertAlmostEqual(scores["micro"]["f1"], metrics.entity_scores(gold_tags, p)[0].f1)
    self.assertEqual(result["vote"]["micro"]["f1"], 100.0)
    self.assertEqual([s.tags for s in read_conll(voted)], gold_tags)
    # Another file's tokens: one line naming the file and line.
    other = os.path.join(tmp, "other.conll")
    write_conll(other, [Sentence(["a", "b", "c"], ["O"] * 3), Sentence(["d", "f"], ["O"] * 2)],
                [["O"] * 3, ["O"] * 2])
    bad = helpers.run_tool("vote_predictions.py", f"--gold={gold_path}",
                           f"--predictions={paths[0]},{other}")
    self.assertNotEqual(bad.returncode, 0)
    self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
    self.assertIn("other.conll:5: tokens differ", bad.stderr)


if __name__ == "__main__":
  unittest.main()
