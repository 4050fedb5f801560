"""The errors a user can fix from the message alone, and how one is shown.

Every such error is a `UserError`: a bad input file, config, run directory, BiLM or model.
Its message names the file (and line, where there is one) and what was expected; the
binaries print it as one line, with no traceback and no flag help.
"""
from typing import Callable, Optional


class UserError(ValueError):
  """Input, config or a directory the user can fix; the message says what and where."""


class FileError(UserError):
  """A file that is not what was expected: `path[:line]: message`."""

  def __init__(self, path: str, line: Optional[int], message: str):
    self.path, self.line, self.what = path, line, message
    super().__init__(f"{where(path, line)}: {message}")

  def __reduce__(self):  # pickled whole (an error from a training in another process)
    return type(self), (self.path, self.line, self.what)


class OutputExistsError(UserError, FileExistsError):
  """An output (directory, export version, package) exists and may not be replaced."""


def where(path: str, line: Optional[int]) -> str:
  return f"{path}:{line}" if line is not None else path


def located(cls: Callable[[str], Exception]) -> Callable[[str, Optional[int], str], Exception]:
  """For an error class taking one message: a factory (path, line, message) -> error."""
  return lambda path, line, message: cls(f"{where(path, line)}: {message}")


def error_line(err: Exception) -> str:
  """The first line of an exception's message (TensorFlow's carry pages of graph context)."""
  return (getattr(err, "message", None) or str(err) or type(err).__name__).splitlines()[0]
