"""Labeled files in any supported format -> IOB2 sentences: CoNLL (IOB2, IOB1, IOBES, untyped
B/I/O; `conll.py`) or PubTator with annotations (`pubtator.py`), told apart by content; and
their tokens back out as unlabeled text (`write_token_lines`)."""
import re
from typing import Iterable, List

from tf_bilm_ner import files
from tf_bilm_ner.data import conll, pubtator
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE, ConllFormatError, Sentence

_PUBTATOR_LINE = re.compile(r"^[^\t|]+\|[ta]\|")


def is_pubtator(path: str) -> bool:
  """Whether the file's first non-blank line is a PubTator title or abstract line."""
  for _, line in files.read_lines(path, error=ConllFormatError):
    if line.strip():
      return bool(_PUBTATOR_LINE.match(line))
  return False


def read_labeled(path: str, entity_type: str = DEFAULT_ENTITY_TYPE) -> List[Sentence]:
  """The sentences of a CoNLL or PubTator file, tags in IOB2.

  Raises ConllFormatError naming the file and line for anything malformed.
  """
  if is_pubtator(path):
    sentences = pubtator.read_pubtator_sentences(path, error=ConllFormatError)
    if not sentences:
      raise ConllFormatError(path, None, "no sentences: the PubTator file has no documents")
    return sentences
  return conll.read_conll(path, entity_type=entity_type)


def write_token_lines(path: str, sentences: Iterable[Sentence]) -> None:
  """The sentences' tokens as unlabeled text for `shard_corpus`, a sentence per line, tokens
  separated by spaces (a corpus's own text, for continued pretraining); written atomically."""
  files.write_text_atomic(path, "".join(" ".join(s.tokens) + "\n" for s in sentences))
