"""Same seed and flags, two processes: identical predictions and histories (CPU)."""
import json
import os

import tensorflow as tf

from tests.test_train_tagger_e2e import DEVEL, SMALL, TRAIN, _run


class DeterminismTest(tf.test.TestCase):

  def test_two_runs_same_seed_identical(self):
    outputs = []
    for k in range(2):
      run_dir = os.path.join(self.get_temp_dir(), f"run{k}")
      proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={TRAIN}",
                  f"--devel={DEVEL}", f"--test={DEVEL}", "--max_epochs=3", *SMALL)
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      with open(os.path.join(run_dir, "eval", "test_predictions.conll"), encoding="utf-8") as f:
        predictions = f.read()
      with open(os.path.join(run_dir, "history.jsonl"), encoding="utf-8") as f:
        history = [json.loads(line) for line in f]
      for row in history:  # timings differ between runs; everything else must not
        for key in ("train_tokens_per_sec", "train_secs", "eval_secs"):
          row.pop(key)
      outputs.append((predictions, history))
    self.assertEqual(outputs[0], outputs[1])
    predicted = [line.split("\t")[2] for line in outputs[0][0].splitlines() if line]
    self.assertIn("B-Disease", predicted)  # a trained model, not an all-O one


if __name__ == "__main__":
  tf.test.main()
