"""A run directory in use by one process is refused to another; a killed holder frees it."""
import os
import signal
import subprocess
import sys
import tempfile
import unittest

from tf_bilm_ner.training import run_dir as run_dir_lib

HOLD = """
import sys, time
from tf_bilm_ner.training import run_dir
with run_dir.hold(sys.argv[1]):
  print("held", flush=True)
  time.sleep(600)
"""


class RunDirLockTest(unittest.TestCase):

  def setUp(self):
    self.dir = tempfile.mkdtemp()

  def _holder(self):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, self.dir], stdout=subprocess.PIPE,
                            text=True)
    self.addCleanup(proc.kill)
    self.assertEqual(proc.stdout.readline().strip(), "held")
    return proc

  def test_second_process_refused_until_holder_is_killed(self):
    proc = self._holder()
    with self.assertRaisesRegex(run_dir_lib.RunDirError,
                                rf"in use by process {proc.pid} on .*choose another --run_dir"):
      with run_dir_lib.hold(self.dir):
        pass
    os.kill(proc.pid, signal.SIGKILL)  # no clean-up runs: the kernel drops the flock
    proc.wait()
    with run_dir_lib.hold(self.dir):
      with run_dir_lib.hold(self.dir):  # re-entrant within a process
        self.assertTrue(os.path.exists(os.path.join(self.dir, run_dir_lib.LOCK_FILE)))
    # released at the end of the block: another process can take it
    self._holder()

  def test_training_binary_refuses_a_held_run_dir(self):
    self._holder()
    proc = subprocess.run(
        [sys.executable, "tools/train_tagger.py", f"--run_dir={self.dir}", "--max_epochs=1"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), capture_output=True,
        text=True, timeout=300)
    self.assertEqual(proc.returncode, 1)
    self.assertIn("in use by process", proc.stderr)
    self.assertFalse(os.path.exists(os.path.join(self.dir, "ckpt")))  # refused before training


if __name__ == "__main__":
  unittest.main()
