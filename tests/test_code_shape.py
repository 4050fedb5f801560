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


if __name__ == "__main__":
  unittest.main()
