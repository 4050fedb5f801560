"""CoNLL / IOB2 reading and writing.

Accepted input: one token per line, columns separated by a tab (or, when a
file's first token line has no tab, by runs of spaces), the tag in the last
column, blank lines between sentences, optional `-DOCSTART-` lines (skipped).
CRLF line endings and a UTF-8 byte-order mark are accepted.

Tags must be `O`, `B-<type>` or `I-<type>`. An `I-X` that follows `O` or a
tag of another type is not valid IOB2; it is repaired to `B-X` (the reading
conlleval gives it, so scores do not change) and the number of repairs is
logged per file. Anything else is a `ConllFormatError` naming file and line.
"""
import dataclasses
import os
import re
from typing import Iterable, Iterator, List, Optional, Sequence

from absl import logging

_TAG_RE = re.compile(r"^(O|[BI]-\S+)$")
DOCSTART = "-DOCSTART-"


class ConllFormatError(ValueError):
  """Malformed CoNLL input; the message names file, line and what was expected."""

  def __init__(self, path: str, line: Optional[int], message: str):
    self.path, self.line = path, line
    where = f"{path}:{line}" if line is not None else path
    super().__init__(f"{where}: {message}")


@dataclasses.dataclass
class Sentence:
  """One sentence: tokens, their IOB2 tags, and the 1-based line of its first token."""
  tokens: List[str]
  tags: List[str]
  line: int = 0


def repair_iob2(tags: Sequence[str]) -> (List[str], int):
  """Turns IOB1-style `I-X` chunk starts into `B-X`. Returns (tags, repairs)."""
  out, repairs, prev = [], 0, "O"
  for tag in tags:
    if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
      tag = "B-" + tag[2:]
      repairs += 1
    out.append(tag)
    prev = tag
  return out, repairs


def _split_columns(line: str, use_tabs: bool) -> List[str]:
  return line.split("\t") if use_tabs else line.split()


def read_conll(path: str, require_tags: bool = True) -> List[Sentence]:
  """Reads a CoNLL/IOB file into sentences, validating every line.

  Args:
    path: the file.
    require_tags: if False, a file with a single column (tokens only) is also
      accepted and every tag is `O` (for tagging unlabeled CoNLL input).
  Returns:
    The sentences in file order.
  Raises:
    ConllFormatError: empty file, non-UTF-8 bytes, wrong column count, empty
      token or malformed tag, each with the file and line.
  """
  return list(iter_conll(path, require_tags))


def iter_conll(path: str, require_tags: bool = True) -> Iterator[Sentence]:
  """`read_conll` as a stream: one sentence at a time, constant memory."""
  try:
    f = open(path, "rb")
  except FileNotFoundError:
    raise ConllFormatError(path, None, "file not found") from None
  except IsADirectoryError:
    raise ConllFormatError(path, None, "is a directory, expected a CoNLL file") from None
  tokens, tags, start = [], [], 0
  num_columns, use_tabs, repairs, count = None, True, 0, 0
  with f:
    for lineno, bline in enumerate(f, start=1):
      if lineno == 1 and bline.startswith(b"\xef\xbb\xbf"):
        bline = bline[3:]
      if b"\x00" in bline:
        raise ConllFormatError(
            path, lineno, "NUL byte: this looks like a binary file, expected UTF-8 text")
      try:
        line = bline.decode("utf-8")
      except UnicodeDecodeError as e:
        raise ConllFormatError(path, lineno, f"not valid UTF-8 (byte 0x{bline[e.start]:02x} at "
                               f"column {e.start + 1})") from None
      line = line.rstrip("\n").rstrip("\r")
      cols = None
      if line.strip():
        if num_columns is None:
          use_tabs = "\t" in line
        cols = _split_columns(line, use_tabs)
      if cols is None or cols[0] == DOCSTART:
        if tokens:
          fixed, n = repair_iob2(tags)
          repairs += n
          count += 1
          yield Sentence(tokens, fixed, start)
        tokens, tags = [], []
        continue
      if num_columns is None:
        num_columns = len(cols)
        if num_columns < 2 and require_tags:
          raise ConllFormatError(
              path, lineno, f"expected at least 2 columns (token and tag), found 1: {line[:60]!r}")
      elif len(cols) != num_columns:
        raise ConllFormatError(
            path, lineno, f"expected {num_columns} columns like the first token line, found "
            f"{len(cols)}: {line[:60]!r}")
      token = cols[0]
      if not token.strip() or token != token.strip():
        raise ConllFormatError(path, lineno, f"empty or space-padded token {token!r}")
      tag = cols[-1] if num_columns > 1 else "O"
      if not _TAG_RE.match(tag):
        raise ConllFormatError(
            path, lineno, f"malformed tag {tag!r}: expected O, B-<type> or I-<type>")
      if not tokens:
        start = lineno
      tokens.append(token)
      tags.append(tag)
  if tokens:
    fixed, n = repair_iob2(tags)
    repairs += n
    count += 1
    yield Sentence(tokens, fixed, start)
  if not count:
    raise ConllFormatError(path, None, "no sentences: the file is empty or holds only "
                           "blank/-DOCSTART- lines")
  if repairs:
    logging.warning("%s: repaired %d I-X tag(s) that did not continue an X chunk to B-X", path,
                    repairs)


def write_conll(path: str, sentences: Iterable[Sentence],
                predictions: Optional[Iterable[Sequence[str]]] = None) -> None:
  """Writes `token<TAB>gold[<TAB>predicted]` lines, a blank line after each sentence.

  The file is written under a temporary name and renamed when complete, so a
  partial file is never left under `path`. The 3-column form is what
  conlleval and seqeval-based scorers read.
  """
  tmp = f"{path}.tmp-{os.getpid()}"
  preds = iter(predictions) if predictions is not None else None
  try:
    with open(tmp, "w", encoding="utf-8") as f:
      for sent in sentences:
        pred = next(preds) if preds is not None else None
        if pred is not None and len(pred) != len(sent.tokens):
          raise ValueError(
              f"prediction for the sentence at line {sent.line} has {len(pred)} tags, "
              f"expected {len(sent.tokens)}")
        for i, (tok, tag) in enumerate(zip(sent.tokens, sent.tags)):
          f.write(f"{tok}\t{tag}\t{pred[i]}\n" if pred is not None else f"{tok}\t{tag}\n")
        f.write("\n")
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
