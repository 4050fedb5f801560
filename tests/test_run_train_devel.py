"""tools/run_train_devel.sh: its check that a train + devel run used the train-only run's flags.

No training here: the results directories are written by hand, as a finished run leaves them,
and the script is rerun over them (a finished seed is checked again, not retrained)."""
import json
import os
import subprocess
import sys

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_run(path: str, config: dict, scores: dict, tagger: dict):
  os.makedirs(path)
  with open(os.path.join(path, "train_config.json"), "w") as f:
    json.dump(config, f)
  with open(os.path.join(path, "tagger_config.json"), "w") as f:
    json.dump(tagger, f)
  with open(os.path.join(path, "scores.json"), "w") as f:
    json.dump(scores, f)


class RunTrainDevelTest(tf.test.TestCase):

  def _run(self, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHON=sys.executable)
    return subprocess.run(
        [os.path.join(ROOT, "tools", "run_train_devel.sh"), "final", "toy", "/nonexistent",
         "1", "train_only", "no", "--init_from_bilm=biomed5m_10epoch"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120)

  def _setup(self, final_config: dict, final_tagger: dict = None) -> tuple:
    cwd = os.path.join(self.get_temp_dir(), self.id().rsplit(".", 1)[-1])
    source = {"seed": 1, "max_epochs": 40, "encoder_lr_scale": 0.5,
              "init_from_bilm": "/elsewhere/checkpoints/biomed5m_10epoch"}
    tagger = {"encoder": {"word_vocab_size": 50497, "char_vocab_size": 172, "lstm_units": 200},
              "num_tags": 5, "top_lstm_units": 200}
    _write_run(os.path.join(cwd, "results", "train_only", "toy", "seed1"), source,
               {"best_epoch": 7, "devel": {}}, tagger)
    final = os.path.join(cwd, "results", "final", "toy", "seed1")
    # devel's words enlarge the vocabulary: not a difference of flags
    final_tagger = final_tagger or dict(
        tagger, encoder=dict(tagger["encoder"], word_vocab_size=50916, char_vocab_size=173))
    _write_run(final, dict(source, **final_config), {"best_epoch": 7, "train_on_devel": True},
               final_tagger)
    return cwd, final

  def test_a_finished_run_with_the_same_flags_is_kept(self):
    cwd, final = self._setup({"max_epochs": 8, "train_on_devel": True,
                              "init_from_bilm": "/here/checkpoints/biomed5m_10epoch"})
    proc = self._run(cwd)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertTrue(os.path.isfile(os.path.join(final, "scores.json")))

  def test_the_hoisted_lstms_alone_do_not_count_as_other_flags(self):
    # A training-speed option (the same sums within float32 rounding): a train-only run of
    # Keras' LSTMs can choose the epochs of a train + devel run of the hoisted ones.
    cwd, final = self._setup({"max_epochs": 8, "train_on_devel": True, "hoisted_lstm": True})
    proc = self._run(cwd)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertTrue(os.path.isfile(os.path.join(final, "scores.json")))

  def test_a_finished_run_of_another_model_is_removed(self):
    # the same training flags, but without the train-only run's top BiLSTM, and wider
    cwd, final = self._setup({"max_epochs": 8, "train_on_devel": True},
                             {"encoder": {"lstm_units": 400}, "num_tags": 5})
    proc = self._run(cwd)
    self.assertEqual(proc.returncode, 1)
    self.assertIn("['encoder.lstm_units', 'top_lstm_units']", proc.stderr)
    self.assertLen(proc.stderr.strip().splitlines(), 1)
    self.assertFalse(os.path.exists(final))

  def test_an_unreadable_source_config_stops_with_one_line_and_removes_nothing(self):
    cwd, final = self._setup({"max_epochs": 8, "train_on_devel": True})
    with open(os.path.join(cwd, "results", "train_only", "toy", "seed1", "train_config.json"),
              "w") as f:
      f.write("{not json")
    proc = self._run(cwd)
    self.assertEqual(proc.returncode, 1)
    self.assertIn("train_only/toy/seed1/train_config.json: a readable JSON config", proc.stderr)
    self.assertLen(proc.stderr.strip().splitlines(), 1)
    self.assertTrue(os.path.isfile(os.path.join(final, "scores.json")))

  def test_a_finished_run_with_other_flags_is_removed_with_one_clear_line(self):
    cwd, final = self._setup({"max_epochs": 8, "train_on_devel": True,
                              "encoder_lr_scale": 0.25, "patience": 3})
    proc = self._run(cwd)
    self.assertEqual(proc.returncode, 1)
    self.assertIn("flags differ from the train-only run's", proc.stderr)
    self.assertIn("['encoder_lr_scale', 'patience']", proc.stderr)  # patience: a default's
    self.assertLen(proc.stderr.strip().splitlines(), 1)
    self.assertFalse(os.path.exists(final))


if __name__ == "__main__":
  tf.test.main()
