"""SIGKILL mid-run (also during checkpoint saves), restart with the same flags, several times.

The run must resume from its last checkpoint (step and optimiser state restored), the latest
checkpoint must always load, and the end result must equal an uninterrupted run's: with
dropout off the only randomness is the data order, which resume replays exactly.
"""
import json
import os
import random
import re
import resource
import signal
import tempfile
import subprocess
import sys
import time

import tensorflow as tf

from tests.test_bilm_training import _shards
from tests.helpers import run_tool as _run
from tests.test_train_tagger_e2e import DEVEL, TRAIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAGGER_FLAGS = ["--word_dim=23", "--char_dim=7", "--char_filters=19", "--lstm_units=29",
                "--batch_tokens=397", "--learning_rate=0.01", "--dropout=0.0",
                "--word_dropout=0.0", "--seed=3", "--max_epochs=6", "--patience=6",
                "--checkpoint_every_secs=0.5", f"--train={TRAIN}", f"--devel={DEVEL}",
                "--notest_eval"]
BILM_FLAGS = ["--word_dim=23", "--char_dim=7", "--char_filters=19", "--lstm_units=29",
              "--max_words=400", "--num_sampled=31", "--batch_tokens=397", "--dropout=0.0",
              "--epochs=3", "--checkpoint_every_secs=0.5"]


def _start(tool, args, log):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", tool), *args],
                          stdout=subprocess.DEVNULL, stderr=log, env=env)


def _wait_for(predicate, proc, timeout=120.0, poll=0.01):
  end = time.time() + timeout
  while time.time() < end and proc.poll() is None:
    if predicate():
      return True
    time.sleep(poll)
  return False


def _file_size_limit(limit):
  """preexec_fn: files the child writes may not grow beyond `limit` bytes (EFBIG, as a full
  disk gives ENOSPC; Python ignores SIGXFSZ, so the write fails instead of killing)."""
  return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


class KillResumeTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.ref = os.path.join(tempfile.mkdtemp(), "ref")  # uninterrupted tagger run
    proc = _run("train_tagger.py", f"--run_dir={cls.ref}", *TAGGER_FLAGS)
    assert proc.returncode == 0, proc.stderr[-3000:]

  def _assert_same_as_reference(self, run):
    history = [json.loads(x) for x in open(os.path.join(run, "history.jsonl"))]
    want = [json.loads(x) for x in open(os.path.join(self.ref, "history.jsonl"))]
    self.assertEqual([h["epoch"] for h in history], [h["epoch"] for h in want])
    self.assertEqual([h["step"] for h in history], [h["step"] for h in want])
    self.assertAllClose([h["loss"] for h in history], [h["loss"] for h in want], rtol=1e-5)
    self.assertAllClose([h["devel_f1"] for h in history], [h["devel_f1"] for h in want],
                        atol=1.0)
    scores = json.load(open(os.path.join(run, "eval", "scores.json")))
    ref_scores = json.load(open(os.path.join(self.ref, "eval", "scores.json")))
    self.assertAllClose(scores["devel"]["micro"]["f1"], ref_scores["devel"]["micro"]["f1"],
                        atol=1.0)

  def _checkpoints_load(self, ckpt_dir):
    """The latest checkpoint reads completely; every older one listed reads completely unless
    it was (being) deleted.

    CheckpointManager.save writes the new checkpoint, rewrites the state file listing it with
    the old ones, deletes the old ones beyond max_to_keep, then rewrites the state file: a kill
    while deleting leaves a swept checkpoint listed (TF's order, so that the state file never
    misses the new one). Resuming uses the latest only.
    """
    state = tf.train.get_checkpoint_state(ckpt_dir)
    if state is None:
      return None
    for prefix in state.all_model_checkpoint_paths:
      present = {os.path.basename(f)[len(os.path.basename(prefix)):]
                 for f in tf.io.gfile.glob(prefix + ".*")}
      if prefix != state.model_checkpoint_path and present != {".index",
                                                               ".data-00000-of-00001"}:
        continue  # swept, or being swept
      reader = tf.train.load_checkpoint(prefix)
      for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)
    return state.model_checkpoint_path

  def _killed_run(self, tool, args, run_dir, kills, seed):
    """Runs `tool`, SIGKILLing it `kills` times; returns the stderr of every attempt."""
    rng = random.Random(seed)
    self.saves_hit = 0
    ckpt_dir = os.path.join(run_dir, "ckpt")
    logs, killed = [], 0
    while True:
      log_path = os.path.join(self.get_temp_dir(), f"{tool}-{len(logs)}.log")
      with open(log_path, "w") as log:
        proc = _start(tool, args, log)
        try:
          before = tf.train.latest_checkpoint(ckpt_dir)
          if killed < kills:
            # Wait for a checkpoint newer than the one we resumed from, then kill: right as the
            # next save starts (its temporary files appear) on even kills, at a random moment
            # on odd ones.
            _wait_for(lambda: tf.train.latest_checkpoint(ckpt_dir) != before, proc)
            if killed % 2 == 0:  # saves take milliseconds here: poll fast, give up after 3 s
              seen = _wait_for(lambda: any("_temp" in n for n in os.listdir(ckpt_dir)), proc,
                               3.0, poll=0.0005)
              self.saves_hit += int(seen)
            else:
              time.sleep(rng.uniform(0.0, 1.5))
            if proc.poll() is None:
              proc.send_signal(signal.SIGKILL)
              killed += 1
          proc.wait(timeout=600)
        finally:
          if proc.poll() is None:
            proc.kill()
      with open(log_path) as f:
        logs.append(f.read())
      latest = self._checkpoints_load(ckpt_dir)  # never a checkpoint that fails to load
      if proc.returncode == 0:
        return logs
      self.assertEqual(proc.returncode, -signal.SIGKILL, logs[-1][-3000:])
      # The next attempt must resume from exactly the latest checkpoint.
      self.last_checkpoint = latest

  def _resumes(self, logs):
    return [re.search(r"resumed from (\S+) at epoch (\d+), batch (\d+)", log) for log in logs]

  def test_train_tagger(self):
    run = os.path.join(self.get_temp_dir(), "killed")
    logs = self._killed_run("train_tagger.py", [f"--run_dir={run}", *TAGGER_FLAGS], run,
                            kills=4, seed=0)
    self.assertLen(logs, 5)  # four kills, then a run to the end
    resumed = [m for m in self._resumes(logs[1:]) if m]
    self.assertGreaterEqual(len(resumed), 3)  # a kill before the first save restarts from zero
    self._assert_same_as_reference(run)

  def test_write_failure_during_save_keeps_the_last_checkpoint(self):
    run = os.path.join(self.get_temp_dir(), "full")
    args = [f"--run_dir={run}", *TAGGER_FLAGS]
    ckpt_dir = os.path.join(run, "ckpt")
    with open(os.path.join(self.get_temp_dir(), "full-0.log"), "w") as log:
      proc = _start("train_tagger.py", args, log)  # killed once it has a checkpoint
      _wait_for(lambda: tf.train.latest_checkpoint(ckpt_dir) is not None, proc)
      proc.kill()
      proc.wait()
    before = self._checkpoints_load(ckpt_dir)
    self.assertIsNotNone(before)
    data_bytes = os.path.getsize(tf.io.gfile.glob(before + ".data-*")[0])
    proc = _run("train_tagger.py", *args, timeout=600,
                preexec_fn=_file_size_limit(data_bytes // 2))
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("resumed from", proc.stderr)
    self.assertRegex(proc.stderr, r"ckpt: could not write a checkpoint \(.*File too large.*\); "
                     r"the last complete one \(.*ckpt-\d+\) is intact")
    self.assertNotIn("Traceback", proc.stderr)
    self.assertEqual(self._checkpoints_load(ckpt_dir), before)
    self.assertEmpty([n for n in os.listdir(ckpt_dir) if n.endswith("_temp")])
    proc = _run("train_tagger.py", *args)  # space again: resumes and finishes
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn(f"resumed from {before}", proc.stderr)
    self._assert_same_as_reference(run)

  def test_train_bilm(self):
    shards = _shards(os.path.join(self.get_temp_dir(), "corpus"), num_shards=2)
    args = [f"--shards_dir={shards}", *BILM_FLAGS]
    ref = os.path.join(self.get_temp_dir(), "bilm_ref")
    proc = _run("train_bilm.py", f"--run_dir={ref}", *args)  # uninterrupted
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    run = os.path.join(self.get_temp_dir(), "bilm_killed")
    logs = self._killed_run("train_bilm.py", [f"--run_dir={run}", *args], run, kills=3, seed=1)
    self.assertGreaterEqual(len([m for m in self._resumes(logs[1:]) if m]), 2)
    got = json.load(open(os.path.join(run, "report.json")))["history"]
    want = json.load(open(os.path.join(ref, "report.json")))["history"]
    self.assertEqual([h["step"] for h in got], [h["step"] for h in want])
    # Sampled-softmax negatives are not replayed after a resume: perplexities are close,
    # not equal.
    for key in ("valid_perplexity_forward", "valid_perplexity_backward"):
      self.assertAllClose([h[key] for h in got], [h[key] for h in want], rtol=0.1)


if __name__ == "__main__":
  tf.test.main()
