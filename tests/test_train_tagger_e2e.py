"""End to end: the train_tagger and evaluate binaries on a small real fixture."""
import json
import os

import tensorflow as tf

from tests.helpers import run_tool as _run
from tf_bilm_ner import entity_threshold as threshold
from tf_bilm_ner.data.conll import read_conll

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "tests", "testdata")
TRAIN = os.path.join(TESTDATA, "ncbi_train_head.tsv")
DEVEL = os.path.join(TESTDATA, "ncbi_devel_head.tsv")
SMALL = ["--word_dim=23", "--char_dim=7", "--char_filters=19", "--lstm_units=29",
         "--batch_tokens=397", "--learning_rate=0.01", "--dropout=0.1", "--seed=3"]


class TrainTaggerEndToEndTest(tf.test.TestCase):

  def test_train_resume_evaluate(self):
    run_dir = os.path.join(self.get_temp_dir(), "run")
    # Train on the fixture, early-stop on it too: the tagger must fit what it saw.
    args = [f"--run_dir={run_dir}", f"--train={TRAIN}", f"--devel={TRAIN}", f"--test={DEVEL}",
            "--max_epochs=6", "--patience=6", *SMALL]
    proc = _run("train_tagger.py", *args)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(os.path.join(run_dir, "eval", "scores.json")) as f:
      scores = json.load(f)
    self.assertGreater(scores["devel"]["micro"]["f1"], 60.0)
    self.assertNotIn("untyped", scores["devel"])  # one type: the typed score is the same
    self.assertIn("test", scores)
    self.assertEqual(scores["provenance"]["seed"], 3)
    found = scores["entity_threshold"]  # chosen on devel; at 0 the scores above
    self.assertIn(found["min_entity_score"], threshold.GRID)
    self.assertLen(found["devel_curve"], len(threshold.GRID))
    self.assertAllClose(found["test_at_0"]["f1"], scores["test"]["micro"]["f1"])
    self.assertAllClose(found["devel_at_0"]["f1"], scores["devel"]["micro"]["f1"])
    self.assertGreaterEqual(found["devel"]["f1"], found["devel_at_0"]["f1"])
    with open(os.path.join(run_dir, "history.jsonl")) as f:
      history = [json.loads(line) for line in f]
    self.assertEqual([h["epoch"] for h in history], list(range(6)))
    self.assertAllClose(max(h["devel_f1"] for h in history), scores["devel"]["micro"]["f1"])
    preds = read_conll(os.path.join(run_dir, "eval", "test_predictions.conll"))
    self.assertEqual([s.tokens for s in preds], [s.tokens for s in read_conll(DEVEL)])

    # Same flags again: the finished run is resumed, nothing is retrained.
    proc = _run("train_tagger.py", *args)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("resumed from", proc.stderr)
    with open(os.path.join(run_dir, "history.jsonl")) as f:
      self.assertLen(f.readlines(), 6)

    # A different config in the same run directory is refused.
    proc = _run("train_tagger.py", *args[:-1], "--seed=4")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("holds a run with a different config", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)

    out = os.path.join(self.get_temp_dir(), "scores.json")
    proc = _run("evaluate.py", f"--run_dir={run_dir}", f"--data={TRAIN}", f"--scores_out={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(out) as f:
      self.assertAllClose(json.load(f)["micro"]["f1"], scores["devel"]["micro"]["f1"])

  def test_train_on_devel_runs_the_given_epochs_and_scores_test_only(self):
    run_dir = os.path.join(self.get_temp_dir(), "final")
    data = {}
    for name, path in (("train", TRAIN), ("devel", DEVEL)):  # two types: every third sentence
      data[name] = os.path.join(self.get_temp_dir(), f"{name}_two_types.tsv")
      with open(data[name], "w") as f:
        for i, s in enumerate(read_conll(path)):
          tags = [t.replace("Disease", "Chem") if i % 3 == 0 else t for t in s.tags]
          f.write("".join(f"{w}\t{t}\n" for w, t in zip(s.tokens, tags)) + "\n")
    proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={data['train']}",
                f"--devel={data['devel']}", f"--test={data['devel']}", "--train_on_devel",
                "--max_epochs=3", "--patience=1", *SMALL)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("last epoch 2; test F1", proc.stderr)
    with open(os.path.join(run_dir, "history.jsonl")) as f:
      history = [json.loads(line) for line in f]
    self.assertEqual([h["epoch"] for h in history], [0, 1, 2])  # patience does not apply
    self.assertNotIn("devel_f1", history[0])
    with open(os.path.join(run_dir, "eval", "scores.json")) as f:
      scores = json.load(f)
    self.assertNotIn("devel", scores)
    self.assertTrue(scores["train_on_devel"])
    self.assertEqual(scores["best_epoch"], 2)
    # Devel was training data: its words are in the vocabulary, and the model fits it.
    with open(os.path.join(run_dir, "vocab", "words.txt")) as f:
      words = set(f.read().split("\n"))
    train_words = {t for s in read_conll(TRAIN) for t in s.tokens}
    devel_only = {t for s in read_conll(DEVEL) for t in s.tokens} - train_words
    self.assertTrue(devel_only)
    self.assertTrue(devel_only & words)
    self.assertGreater(scores["test"]["micro"]["f1"], 50.0)
    # Two types: also the boundaries-only score, at least the typed one.
    self.assertEqual(sorted(scores["test"]["per_type"]), ["Chem", "Disease"])
    self.assertGreaterEqual(scores["test"]["untyped"]["micro"]["num_correct"],
                            scores["test"]["micro"]["num_correct"])

    proc = _run("train_tagger.py", f"--run_dir={run_dir}2", f"--train={TRAIN}",
                f"--devel={DEVEL}", "--train_on_devel")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("--train_on_devel trains for exactly --max_epochs epochs", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)

  def test_untyped_biobert_files(self):
    """BioBERT-format files (untyped B/I/O) train and score as one named entity type."""
    data = {}
    for name, path in (("train", TRAIN), ("devel", DEVEL)):
      data[name] = os.path.join(self.get_temp_dir(), f"{name}_untyped.tsv")
      with open(path) as f, open(data[name], "w") as g:
        g.write(f.read().replace("-Disease", ""))
    run_dir = os.path.join(self.get_temp_dir(), "untyped")
    proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={data['train']}",
                f"--devel={data['train']}", f"--test={data['devel']}", "--max_epochs=2",
                "--entity_type=Disease", *SMALL)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("untyped tags (B/I/O) read as entity type 'Disease'", proc.stderr)
    with open(os.path.join(run_dir, "vocab", "tags.txt")) as f:
      self.assertEqual(sorted(f.read().split()), ["B-Disease", "I-Disease", "O"])
    with open(os.path.join(run_dir, "eval", "scores.json")) as f:
      self.assertEqual(list(json.load(f)["test"]["per_type"]), ["Disease"])

  def test_bad_input_is_a_usage_error_naming_file_and_line(self):
    bad = os.path.join(self.get_temp_dir(), "bad.tsv")
    with open(bad, "w") as f:
      f.write("IL-2\tB-protein\ngene\tX-protein\n")
    proc = _run("train_tagger.py", f"--run_dir={self.get_temp_dir()}/r", f"--train={bad}",
                f"--devel={DEVEL}", "--notest_eval")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn(f"{bad}:2: malformed tag 'X-protein'", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)
    other = os.path.join(self.get_temp_dir(), "other_types.tsv")
    with open(other, "w") as f:
      f.write("aspirin\tB-Chemical\n")
    proc = _run("train_tagger.py", f"--run_dir={self.get_temp_dir()}/r4", f"--train={TRAIN}",
                f"--devel={other}", "--notest_eval")
    self.assertIn("devel tags ['B-Chemical'] never occur in train", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)
    proc = _run("train_tagger.py", f"--train={TRAIN}")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("--run_dir", proc.stderr)
    proc = _run("train_tagger.py", f"--run_dir={self.get_temp_dir()}/r2", "--train=/nonexistent")
    self.assertIn("--train: file not found: /nonexistent", proc.stderr)
    proc = _run("train_tagger.py", f"--run_dir={self.get_temp_dir()}/r3", "--train_fraction=1.5")
    self.assertIn("train_fraction must be in (0, 1]", proc.stderr)
    proc = _run("train_tagger.py", f"--run_dir={self.get_temp_dir()}/r5", "--tagger_config=x.json",
                "--lstm_units=3")
    self.assertIn("do not also pass ['--lstm_units']", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
