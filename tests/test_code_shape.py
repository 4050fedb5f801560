"""The package stays readable: short functions, thin binaries, modules of a few hundred lines."""
import ast
import glob
import os
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FUNCTION, MAX_MAIN, MAX_MODULE = 60, 30, 320


class CodeShapeTest(unittest.TestCase):

  def test_sizes(self):
    too_long = []
    paths = glob.glob(os.path.join(ROOT, "tf_bilm_ner", "**", "*.py"), recursive=True)
    tools = glob.glob(os.path.join(ROOT, "tools", "*.py"))
    self.assertGreater(len(paths), 40)
    for path in paths + tools:
      rel = os.path.relpath(path, ROOT)
      with open(path, encoding="utf-8") as f:
        source = f.read()
      if path in paths and len(source.splitlines()) > MAX_MODULE:
        too_long.append(f"{rel}: {len(source.splitlines())} lines")
      for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
          limit = MAX_MAIN if path in tools and node.name == "main" else MAX_FUNCTION
          if node.end_lineno - node.lineno + 1 > limit:
            too_long.append(f"{rel}: {node.name} {node.end_lineno - node.lineno + 1} lines")
    self.assertEqual(too_long, [])

  def test_binaries_go_through_cli(self):
    """Every binary imports cli before TensorFlow (it quiets TF's start-up logs) and runs its
    main through cli.run (a UserError becomes one line on stderr)."""
    wrong = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tools", "*.py"))):
      if path.endswith("__init__.py"):
        continue
      with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
      imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
      first = imports[0] if imports else None
      calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
      if not (isinstance(first, ast.ImportFrom) and first.module == "tf_bilm_ner"
              and [a.name for a in first.names] == ["cli"]):
        wrong.append(f"{os.path.basename(path)}: first import is not 'from tf_bilm_ner import cli'")
      if "cli.run" not in calls or "app.run" in calls:
        wrong.append(f"{os.path.basename(path)}: main not run by cli.run")
    self.assertEqual(wrong, [])


if __name__ == "__main__":
  unittest.main()
