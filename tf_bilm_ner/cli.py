"""What every binary in tools/ does first and last.

First, before TensorFlow is imported: silence TensorFlow's C++ start-up logs (CUDA stubs,
oneDNN, CPU features, TensorRT; about ten lines) unless `--verbosity` (or `-v`) is 1 or more,
or TF_CPP_MIN_LOG_LEVEL is already set. Last: a `UserError` (bad file, config, run directory,
model) is printed as one line, `<binary>: error: <file>:<line>: <what was expected>`, exit
status 1, with no traceback and no flag help; flag misuse (`app.UsageError`) keeps absl's
usage message. A binary starts with

  from tf_bilm_ner import cli  # before anything that imports TensorFlow
  ...
  def run():
    cli.run(main)
"""
import os
import sys
from typing import Callable, List, Sequence

_VERBOSE_NAMES = ("debug",)


def verbose_requested(argv: Sequence[str]) -> bool:
  """Whether argv asks absl for `--verbosity` >= 1 (`-v`, `--v`, `--verbosity`, `=` or not)."""
  for i, arg in enumerate(argv):
    name, eq, value = arg.partition("=")
    if name not in ("-v", "--v", "--verbosity"):
      continue
    if not eq:
      value = argv[i + 1] if i + 1 < len(argv) else ""
    try:
      return int(value) >= 1
    except ValueError:
      return value.lower() in _VERBOSE_NAMES
  return False


def quiet_tensorflow(argv: Sequence[str]) -> None:
  """Sets TF_CPP_MIN_LOG_LEVEL=3 (the start-up lines include E-level ones) unless set or verbosity asked for. Only
  effective before TensorFlow is first imported."""
  if "TF_CPP_MIN_LOG_LEVEL" not in os.environ and not verbose_requested(argv):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


quiet_tensorflow(sys.argv)


def run(main: Callable[[List[str]], None]) -> None:
  """absl's app.run(main), with a UserError shown as one line on stderr and exit status 1."""
  from absl import app  # pylint: disable=g-import-not-at-top
  from tf_bilm_ner.errors import UserError  # pylint: disable=g-import-not-at-top

  def wrapped(argv):
    try:
      return main(argv)
    except UserError as err:
      _fail(err)

  app.run(wrapped)


def _fail(err: Exception) -> None:
  binary = os.path.basename(sys.argv[0]) or "tf_bilm_ner"
  message = " ".join(str(err).split("\n")) or type(err).__name__
  sys.stderr.write(f"{binary}: error: {message}\n")
  sys.stderr.flush()
  sys.exit(1)
