"""shard_corpus and train_bilm binaries: bad input ends in one clear line, never a traceback."""
import os
import subprocess
import sys

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tool, *args):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run([sys.executable, os.path.join(ROOT, "tools", tool), *args],
                        capture_output=True, text=True, env=env, timeout=300)


class BiLMBinariesTest(tf.test.TestCase):

  def assertCleanError(self, proc, fragment):
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn(fragment, proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)

  def test_bad_input(self):
    d = self.get_temp_dir()
    self.assertCleanError(_run("shard_corpus.py", f"--inputs={d}/none*.txt",
                               f"--output_dir={d}/out"), "none*.txt: matches no file")
    blank = os.path.join(d, "blank.txt")
    with open(blank, "w") as f:
      f.write("\n\n")
    self.assertCleanError(_run("shard_corpus.py", f"--inputs={blank}", f"--output_dir={d}/o2"),
                          "no usable line")
    self.assertCleanError(_run("train_bilm.py", f"--run_dir={d}/r", f"--shards_dir={d}/nothing"),
                          "matches no file")
    self.assertCleanError(_run("train_bilm.py", f"--run_dir={d}/r", f"--shards_dir={d}",
                               f"--train_shards={d}/x"), "give --shards_dir, or both")
    shards = os.path.join(d, "shards")
    os.makedirs(shards)
    for name in ("train-00000-of-00001.txt", "valid-00000-of-00001.txt"):
      with open(os.path.join(shards, name), "w") as f:
        f.write("IL-2 gene expression .\n")
    env_tf_config = os.environ.pop("TF_CONFIG", None)
    try:
      self.assertCleanError(_run("train_bilm.py", f"--run_dir={d}/r", f"--shards_dir={shards}",
                                 "--distribution_strategy=multi_worker"), "needs TF_CONFIG set")
    finally:
      if env_tf_config is not None:
        os.environ["TF_CONFIG"] = env_tf_config


if __name__ == "__main__":
  tf.test.main()
