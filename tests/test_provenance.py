"""The commit recorded with every figure: -dirty for code changes, not for outputs or docs."""
import os
import subprocess
import tempfile
import unittest

from tf_bilm_ner import provenance


def _git(root, *args):
  subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


class GitCommitTest(unittest.TestCase):

  def setUp(self):
    self.root = tempfile.mkdtemp()
    _git(self.root, "init", "-q")
    for path in ("README.md", "tf_bilm_ner/training/tagger_loop.py", "results/README.md"):
      os.makedirs(os.path.dirname(os.path.join(self.root, path)), exist_ok=True)
      with open(os.path.join(self.root, path), "w", encoding="utf-8") as f:
        f.write("original\n")
    _git(self.root, "add", "-A")
    _git(self.root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    self.head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.root, check=True,
                               capture_output=True, text=True).stdout.strip()

  def _edit(self, path):
    with open(os.path.join(self.root, path), "a", encoding="utf-8") as f:
      f.write("changed\n")

  def test_clean_checkout(self):
    self.assertEqual(provenance.git_commit(self.root), self.head)

  def test_regenerated_tables_and_untracked_files_are_not_code_changes(self):
    self._edit("README.md")
    self._edit("results/README.md")
    with open(os.path.join(self.root, "new_run.json"), "w", encoding="utf-8") as f:
      f.write("{}")
    self.assertEqual(provenance.git_commit(self.root), self.head)

  def test_code_change_is_dirty(self):
    self._edit("tf_bilm_ner/training/tagger_loop.py")
    self.assertEqual(provenance.git_commit(self.root), self.head + "-dirty")

  def test_outside_git(self):
    self.assertEqual(provenance.git_commit(tempfile.mkdtemp()), "unknown")


class CommandTest(unittest.TestCase):
  """Stored commands carry no paths of the machine they ran on."""

  def test_paths_in_the_checkout_are_relative(self):
    root = provenance.ROOT
    got = provenance.command([os.path.join(root, "tools", "train_bilm.py"),
                              f"--run_dir={os.path.join(root, 'runs', 'x')}", "--seed=3",
                              "--data=/elsewhere/a.tsv", os.path.join(root, "results")])
    self.assertRegex(got, r"^python[\d.]* tools/train_bilm.py --run_dir=runs/x --seed=3 "
                          r"--data=/elsewhere/a.tsv results$")

  def test_an_installed_script_is_named_alone(self):
    got = provenance.command(["/opt/venv/bin/tf-bilm-train-tagger", "--run_dir=runs/a"])
    self.assertEqual(got, "tf-bilm-train-tagger --run_dir=runs/a")


class MachineTest(unittest.TestCase):

  def test_machine_names_the_cpu_and_its_matmul_instruction_sets(self):
    """Speed figures of different sessions ran on different CPUs (AVX2 only, or AVX512 with
    bfloat16): the record says which, from /proc/cpuinfo."""
    m = provenance.machine()
    self.assertEqual(m["cores"], os.cpu_count())
    self.assertLessEqual(set(m["cpu_features"]), set(provenance.CPU_FEATURES))
    if os.path.exists("/proc/cpuinfo"):
      with open("/proc/cpuinfo") as f:
        flags = next(line for line in f if line.startswith("flags")).split(":", 1)[1].split()
      self.assertEqual(m["cpu_features"], [x for x in provenance.CPU_FEATURES if x in flags])
      self.assertRegex(m["cpu_family_model"], r"^\d+/\d+$")


if __name__ == "__main__":
  unittest.main()
