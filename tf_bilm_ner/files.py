"""The one I/O layer: atomic file and directory writes, one UTF-8 line reader, input globs.

Atomic writes go to a temporary name beside the target, are flushed and fsynced, renamed
over the target, and the parent directory is fsynced, so after a crash or a power loss the
target is the old complete file or the new complete one: never partial, never empty.
"""
import contextlib
import glob
import gzip
import json
import os
import shutil
import sys
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from tf_bilm_ner.errors import FileError, OutputExistsError

STDIN = "-"  # as a path: standard input (read_lines) or output (output_stream)

ErrorFactory = Callable[[str, Optional[int], str], Exception]


def _tmp(path: str) -> str:
  return f"{path.rstrip('/')}.tmp-{os.getpid()}"


def fsync_dir(directory: str) -> None:
  """Makes a rename or a new entry in `directory` durable."""
  fd = os.open(directory or ".", os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def _fsync_tree(root: str) -> None:
  for dirpath, _, names in os.walk(root, topdown=False):
    for name in names:
      fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
      try:
        os.fsync(fd)
      finally:
        os.close(fd)
    fsync_dir(dirpath)


@contextlib.contextmanager
def atomic_file(path: str, mode: str = "w"):
  """`with atomic_file(path) as f: f.write(...)`: `path` appears, complete, when the block ends
  without an exception; otherwise `path` is left as it was. Text modes write UTF-8 with
  `\\n` line ends."""
  tmp = _tmp(path)
  try:
    kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    with open(tmp, mode, **kwargs) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def output_stream(path: str):
  """`atomic_file(path)`, or stdout for "-"."""
  if path == STDIN:
    yield sys.stdout
    sys.stdout.flush()
  else:
    with atomic_file(path) as f:
      yield f


def write_text_atomic(path: str, text: str) -> None:
  with atomic_file(path) as f:
    f.write(text)


def write_json_atomic(path: str, obj) -> None:
  write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def append_line_synced(path: str, line: str) -> None:
  """Appends one line and fsyncs it (a crash can cut only the last line)."""
  with open(path, "a", encoding="utf-8", newline="\n") as f:
    f.write(line + "\n")
    f.flush()
    os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False, tmp: Optional[str] = None):
  """`with atomic_directory(out) as tmp: write into tmp`: `out` appears, complete, when the
  block ends without an exception (every file fsynced first).

  Args:
    path: the directory to create.
    overwrite: replace an existing `path` (it is moved aside, the new one renamed in, then
      the old one deleted). Without it an existing `path` is an OutputExistsError (a FileExistsError).
    tmp: where to build it (default `<path>.tmp-<pid>`); must be on the same file system.
      A leftover of an earlier crashed attempt there is deleted first.
  """
  tmp = tmp or _tmp(path)
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  old = f"{path.rstrip('/')}.old-{os.getpid()}"
  try:
    yield tmp
    _fsync_tree(tmp)
    if os.path.exists(path):
      if not overwrite:
        raise OutputExistsError(f"{path} exists")
      os.replace(path, old)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path.rstrip("/")))
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def read_lines(path: str, error: ErrorFactory = FileError, what: str = "a text file",
               on_bad_line: Optional[Callable[[int, str], None]] = None
               ) -> Iterator[Tuple[int, str]]:
  """(line number from 1, the line decoded, its line ending kept), streamed; "-" is stdin.

  UTF-8 (a byte-order mark on line 1 is dropped), plain or gzip (`.gz`). A line with a NUL
  byte or invalid UTF-8 raises `error(path, line, message)`, or, with `on_bad_line`, is
  passed to it as (line number, message) and skipped. A file that cannot be opened or read
  raises `error(path, None, ...)`; `what` names what was expected ("a CoNLL file").
  """
  try:
    if path == STDIN:
      f = contextlib.nullcontext(sys.stdin.buffer)
      path = "<stdin>"
    else:
      f = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
  except FileNotFoundError:
    raise error(path, None, "file not found") from None
  except IsADirectoryError:
    raise error(path, None, f"is a directory, expected {what}") from None
  except OSError as e:
    raise error(path, None, f"cannot open ({e.strerror})") from None
  with f as stream:
    try:
      for lineno, raw in enumerate(stream, start=1):
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
          raw = raw[3:]
        problem = _decode(raw)
        if isinstance(problem, tuple):
          yield lineno, problem[0]
        elif on_bad_line is None:
          raise error(path, lineno, problem)
        else:
          on_bad_line(lineno, problem)
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
      raise error(path, None, f"unreadable ({e})") from None


def _decode(raw: bytes):
  """(the decoded line,), or what is wrong with it (str)."""
  if b"\x00" in raw:
    return "NUL byte: this looks like a binary file, expected UTF-8 text"
  try:
    return (raw.decode("utf-8"),)
  except UnicodeDecodeError as e:
    return f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"


def expand_inputs(patterns: Sequence[str], error: Callable[[str], Exception] = FileError
                  ) -> List[str]:
  """Globs -> the files they match, each pattern's sorted, de-duplicated in order.

  A pattern matching no file raises `error(path, None, "matches no file")`. "-" (stdin)
  passes through.
  """
  out = []
  for pattern in patterns:
    if pattern == STDIN:
      out.append(STDIN)
      continue
    matched = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    if not matched:
      raise error(pattern, None, "matches no file")
    out.extend(matched)
  return list(dict.fromkeys(out))
