"""CoNLL reading and writing, in every common tagging scheme; sentences come out IOB2.

Accepted input: one token per line, columns separated by a tab (or, when a
file's first token line has no tab, by runs of spaces), the tag in the last
column, blank lines between sentences, optional `-DOCSTART-` lines (skipped).
CRLF line endings and a UTF-8 byte-order mark are accepted.

Tags, converted to IOB2 as they are read (what was converted is logged once per file):
  IOB2    `O`, `B-<type>`, `I-<type>`                     as they are
  IOB1    an `I-X` starting an entity (after `O` or another type)  -> `B-X`, as conlleval
          reads it, so scores do not change
  IOBES   `S-X` (a one-token entity), `E-X` (an entity's last token)  -> `B-X`, `I-X`
  untyped `B`, `I`, `O` (BioBERT's files), also `S`, `E`  -> typed with `entity_type`
A file may not mix untyped and typed tags. Anything else is a `ConllFormatError` naming
file and line.
"""
import dataclasses
import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.errors import FileError

_TAG_RE = re.compile(r"^(O|[BIES]-\S+|[BIES])$")
DEFAULT_ENTITY_TYPE = "Entity"  # the type of untyped B/I/O tags unless one is given
DOCSTART = "-DOCSTART-"


class ConllFormatError(FileError):
  """Malformed CoNLL input; the message names file, line and what was expected."""


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


def read_conll(path: str, require_tags: bool = True,
               entity_type: str = DEFAULT_ENTITY_TYPE) -> List[Sentence]:
  """Reads a CoNLL/IOB file into sentences, validating every line.

  Args:
    path: the file.
    require_tags: if False, a file with a single column (tokens only) is also
      accepted and every tag is `O` (for tagging unlabeled CoNLL input).
    entity_type: the type untyped tags (`B`, `I`) are read as.
  Returns:
    The sentences in file order.
  Raises:
    ConllFormatError: empty file, non-UTF-8 bytes, wrong column count, empty
      token or malformed tag, each with the file and line.
  """
  return list(iter_conll(path, require_tags, entity_type))


def iter_conll(path: str, require_tags: bool = True,
               entity_type: str = DEFAULT_ENTITY_TYPE) -> Iterator[Sentence]:
  """`read_conll` as a stream: one sentence at a time, constant memory."""
  tokens, tags, start, count = [], [], 0, 0
  seen = {"repairs": 0, "iobes": 0, "untyped": 0}
  for lineno, token, tag in _token_lines(path, require_tags):
    if token is not None:
      start = start if tokens else lineno
      tokens.append(token)
      tags.append(tag)
    elif tokens:  # a sentence boundary
      count += 1
      yield Sentence(tokens, _to_iob2(tags, entity_type, seen), start)
      tokens, tags = [], []
  if not count:
    raise ConllFormatError(path, None, "no sentences: the file is empty or holds only "
                           "blank/-DOCSTART- lines")
  if seen["untyped"]:
    logging.info("%s: untyped tags (B/I/O) read as entity type %r", path, entity_type)
  if seen["iobes"]:
    logging.info("%s: IOBES tags read as IOB2 (%d S-/E- tags)", path, seen["iobes"])
  if seen["repairs"]:
    logging.warning("%s: repaired %d I-X tag(s) that did not continue an X chunk to B-X "
                    "(IOB1, or an error in the file)", path, seen["repairs"])


def _to_iob2(tags: List[str], entity_type: str, seen: dict) -> List[str]:
  """One sentence's tags, in any accepted scheme -> IOB2; counts what it converted."""
  typed = []
  for tag in tags:
    if tag in ("B", "I", "E", "S"):
      seen["untyped"] += 1
      tag = f"{tag}-{entity_type}"
    if tag[:2] in ("S-", "E-"):
      seen["iobes"] += 1
      tag = ("B-" if tag[0] == "S" else "I-") + tag[2:]
    typed.append(tag)
  fixed, n = repair_iob2(typed)
  seen["repairs"] += n
  return fixed


def _token_lines(path: str, require_tags: bool) -> Iterator[Tuple[int, Optional[str],
                                                                   Optional[str]]]:
  """(line, token, tag) for each token line, checked; (line, None, None) for each sentence
  boundary (blank or -DOCSTART- line), and one after the last line."""
  num_columns, use_tabs, lineno, kinds = None, True, 0, {}
  for lineno, line in files.read_lines(path, error=ConllFormatError, what="a CoNLL file"):
    line = line.rstrip("\n").rstrip("\r")
    if num_columns is None and line.strip():
      use_tabs = "\t" in line
    cols = _split_columns(line, use_tabs) if line.strip() else None
    if cols is None or cols[0] == DOCSTART:
      yield lineno, None, None
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
    token, tag = cols[0], cols[-1] if num_columns > 1 else "O"
    if not token.strip() or token != token.strip():
      raise ConllFormatError(path, lineno, f"empty or space-padded token {token!r}")
    if not _TAG_RE.match(tag):
      raise ConllFormatError(
          path, lineno, f"malformed tag {tag!r}: expected O, B-<type> or I-<type> (IOB2, "
          "IOB1), S-<type> or E-<type> (IOBES), or untyped B, I, E, S")
    if tag != "O":
      kind = "untyped" if len(tag) == 1 else "typed"
      kinds.setdefault(kind, lineno)
      other = kinds.get("typed" if kind == "untyped" else "untyped")
      if other is not None:
        raise ConllFormatError(path, lineno, f"{kind} tag {tag!r}, but line {other} has "
                               f"{'a typed' if kind == 'untyped' else 'an untyped'} one: a "
                               "file is either untyped (B/I/O) or typed (B-X/I-X/O)")
    yield lineno, token, tag
  yield lineno + 1, None, None


def write_conll(path: str, sentences: Iterable[Sentence],
                predictions: Optional[Iterable[Sequence[str]]] = None) -> None:
  """Writes `token<TAB>gold[<TAB>predicted]` lines, a blank line after each sentence.

  The file is written under a temporary name and renamed when complete, so a
  partial file is never left under `path`. The 3-column form is what
  conlleval and seqeval-based scorers read.
  """
  preds = iter(predictions) if predictions is not None else None
  with files.atomic_file(path) as f:
    for sent in sentences:
      pred = next(preds) if preds is not None else None
      if pred is not None and len(pred) != len(sent.tokens):
        raise ValueError(
            f"prediction for the sentence at line {sent.line} has {len(pred)} tags, "
            f"expected {len(sent.tokens)}")
      for i, (tok, tag) in enumerate(zip(sent.tokens, sent.tags)):
        f.write(f"{tok}\t{tag}\t{pred[i]}\n" if pred is not None else f"{tok}\t{tag}\n")
      f.write("\n")
