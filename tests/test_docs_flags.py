"""Docs and flags agree: every `--flag` that README.md, WORKSPACE.md, checkpoints/README.md
and results/README.md give a binary exists on that binary (on some binary where the text names
none)."""
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ("README.md", "WORKSPACE.md", "checkpoints/README.md", "results/README.md")
ABSL = {"verbosity", "v", "logtostderr", "alsologtostderr", "log_dir", "helpfull", "helpshort",
        "help", "flagfile", "only_check_args"}
# Flags of other programs the docs show (pip, pytest, docker, curl, TF's tools, XLA_FLAGS, shell).
OTHERS = {"dist", "rm", "logdir", "dir", "all", "quiet", "upgrade", "no-cache-dir", "tag_set",
          "signature_def", "input_exprs", "data-binary", "extra-index-url", "base", "change",
          "most", "repo", "min-lines", "seconds", "maxfail", "durations", "platform",
          "retries", "inputs_json", "outputs", "xla_cpu_compilation_enabled",
          "xla_cpu_multi_thread_eigen"}


def tool_flags():
  """binary name (train_tagger) -> its flags; bool flags also as no<name>."""
  out = {}
  for path in glob.glob(os.path.join(ROOT, "tools", "*.py")):
    text = open(path, encoding="utf-8").read()
    names = set()
    for kind, name in re.findall(r'flags\.DEFINE_(\w+)\(\s*"(\w+)"', text):
      names.add(name)
      if kind == "bool":
        names.add("no" + name)
    out[os.path.basename(path)[:-3]] = names | ABSL
  return out


def commands(text):
  """(binary or None, flag) for every --flag in the text: a binary when the flag stands in
  a command line of a code block that runs it."""
  found = []
  for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
    for line in re.sub(r"\\\n", " ", block).splitlines():
      for segment in re.split(r"&&|;|\|", line):
        m = re.search(r"(?:tf-bilm-([\w-]+)|tools/(\w+)\.py)", segment)
        tool = (m.group(1) or "").replace("-", "_") or m.group(2) if m else None
        found += [(tool, f) for f in re.findall(r"(?<![\w-])--([\w-]+)", segment)]
  prose = re.sub(r"```.*?```", "", text, flags=re.S)
  found += [(None, f) for f in re.findall(r"`[^`\n]*?(?<![\w-])--([\w-]+)[^`\n]*`", prose)]
  return found


class DocsFlagsTest(unittest.TestCase):

  def test_every_documented_flag_exists(self):
    flags = tool_flags()
    self.assertIn("run_dir", flags["train_tagger"])
    every = set().union(*flags.values())
    missing = []
    for doc in DOCS:
      with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        for tool, flag in commands(f.read()):
          known = flags.get(tool, every) if tool else every | OTHERS
          if tool and tool not in flags:
            missing.append(f"{doc}: no binary {tool}")
          elif flag not in known:
            missing.append(f"{doc}: --{flag}" + (f" (tf-bilm-{tool})" if tool else ""))
    self.assertEqual(sorted(set(missing)), [])

  def test_the_check_catches_a_wrong_flag(self):
    text = "```bash\ntf-bilm-train-tagger --run_dir=x --max_tokens_per_sentence=3\n```\n"
    self.assertIn(("train_tagger", "max_tokens_per_sentence"), commands(text))
    self.assertNotIn("max_tokens_per_sentence", tool_flags()["train_tagger"])


if __name__ == "__main__":
  unittest.main()
