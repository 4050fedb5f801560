"""The pretraining-LSTM benchmark: its variants compute the same gradients (Keras' LSTM
against the serving loop and the hoisted training loop, independent implementations), and the
binary writes them."""
import json
import os
import tempfile
import unittest

from tests import helpers
from tf_bilm_ner.experiments import lstm_step


class LstmStepTest(unittest.TestCase):

  def test_variants_agree(self):
    rows = lstm_step.compare(batch=3, time_steps=5, input_dim=7, units=4, steps=1, rounds=1,
                             variants=("one_loop", "keras_xla", "hoisted"))
    self.assertEqual([r["variant"] for r in rows], ["keras", "one_loop", "keras_xla", "hoisted"])
    for row in rows:
      self.assertLess(row["max_grad_diff"], 1e-4, row)
      self.assertGreater(row["ms_per_step"], 0)
    self.assertEqual(rows[0]["speed_vs_keras"], 1.0)

  def test_unknown_variant(self):
    with self.assertRaisesRegex(ValueError, "unknown variant 'cudnn'"):
      lstm_step.make_step("cudnn", None, None, None)

  def test_binary(self):
    with tempfile.TemporaryDirectory() as tmp:
      out = os.path.join(tmp, "lstm.json")
      proc = helpers.run_tool("benchmark_lstm_step.py", "--batch=2", "--time_steps=3",
                              "--input_dim=5", "--units=3", "--steps=1", "--rounds=1",
                              "--variants=one_loop", f"--out={out}")
      self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
      with open(out, encoding="utf-8") as f:
        result = json.load(f)
      self.assertEqual([r["variant"] for r in result["rows"]], ["keras", "one_loop"])
      self.assertEqual(result["shape"]["units"], 3)
      self.assertIn("git_commit", result["provenance"])
      bad = helpers.run_tool("benchmark_lstm_step.py", "--variants=cudnn")
      self.assertNotEqual(bad.returncode, 0)
      self.assertIn("unknown ['cudnn']", bad.stderr)


if __name__ == "__main__":
  unittest.main()
