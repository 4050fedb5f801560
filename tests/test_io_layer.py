"""Every file the library and the binaries write goes through `tf_bilm_ner/files.py` (atomic,
fsynced), or is listed below with the reason it need not."""
import ast
import glob
import os
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (file, function) -> why its raw write is safe
EXCEPTIONS = {
    ("tf_bilm_ner/data/sharding.py", "_write_shards"):
        "writes the shards inside the temporary folder of files.atomic_directory",
    ("tf_bilm_ner/serving/shipping.py", "package_tagger"):
        "moves the finished export into the temporary folder of files.atomic_directory",
    ("tf_bilm_ner/training/run_dir.py", "hold"):
        "the lock file: its content is informational, the flock is what counts",
    ("tf_bilm_ner/training/run_dir.py", "check_writable"):
        "a probe file, removed at once",
}
RAW_WRITES = {("os", "replace"), ("os", "rename"), ("shutil", "move"), ("os", "open"),
              ("json", "dump"), ("fig", "savefig"), ("plt", "savefig")}


def _into_atomic_file(call, tree):
  """True for a call like `fig.savefig(f)` whose `f` is bound by `with files.atomic_file(...)
  as f`."""
  atomic = {item.optional_vars.id for node in ast.walk(tree) if isinstance(node, ast.With)
            for item in node.items
            if isinstance(item.optional_vars, ast.Name)
            and isinstance(item.context_expr, ast.Call)
            and ast.unparse(item.context_expr.func) == "files.atomic_file"}
  return bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id in atomic


def _writes(path):
  """(function name, line, what) for each raw write in the file."""
  tree = ast.parse(open(path, encoding="utf-8").read())
  found = []

  def visit(node, func):
    for child in ast.iter_child_nodes(node):
      name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
      if isinstance(child, ast.Call):
        f = child.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (
            (f.value.id, f.attr) in RAW_WRITES) and not _into_atomic_file(child, tree):
          found.append((func, child.lineno, f"{f.value.id}.{f.attr}"))
        if isinstance(f, ast.Name) and f.id == "open":
          mode = child.args[1] if len(child.args) > 1 else next(
              (k.value for k in child.keywords if k.arg == "mode"), None)
          if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
            found.append((func, child.lineno, f"open(..., {mode.value!r})"))
      visit(child, name)

  visit(tree, "<module>")
  return found


class IOLayerTest(unittest.TestCase):

  def test_writes_go_through_files_py(self):
    paths = sorted(glob.glob(os.path.join(ROOT, "tf_bilm_ner", "**", "*.py"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "tools", "*.py")))
    self.assertGreater(len(paths), 40)
    raw, used = [], set()
    for path in paths:
      rel = os.path.relpath(path, ROOT)
      if rel == os.path.join("tf_bilm_ner", "files.py"):
        continue
      for func, line, what in _writes(path):
        if (rel, func) in EXCEPTIONS:
          used.add((rel, func))
        else:
          raw.append(f"{rel}:{line} {func}: {what}")
    self.assertEqual(raw, [], "write through tf_bilm_ner/files.py, or list the exception")
    self.assertEqual(used, set(EXCEPTIONS), "an exception no longer needed")

  def test_the_scan_finds_raw_writes(self):
    path = os.path.join(ROOT, "tf_bilm_ner", "files.py")
    self.assertTrue(any("os.replace" in w for _, _, w in _writes(path)))
    self.assertTrue(any("open(" in w for _, _, w in _writes(path)))


if __name__ == "__main__":
  unittest.main()
