"""PubTator files: documents (title, abstract) with entity annotations, read as training data.

  PMID|t|title
  PMID|a|abstract
  PMID<TAB>start<TAB>end<TAB>mention<TAB>type[<TAB>concept id]
  (a blank line after each document)

Offsets are code points into `title + " " + abstract`. `to_sentences` tokenises the title and
the abstract apart (as the tagger tags them) with `tokenizer.py` and tags each token IOB2
from the annotations it overlaps. Relation lines (`PMID<TAB>CID<TAB>...`) are skipped.
"""
import dataclasses
from typing import Callable, Iterator, List, Optional, Tuple

from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.errors import FileError


@dataclasses.dataclass
class Annotation:
  start: int
  end: int
  text: str
  type: str


@dataclasses.dataclass
class Document:
  pmid: str
  title: str
  abstract: str
  line: int  # of the title line
  annotations: List[Annotation] = dataclasses.field(default_factory=list)

  @property
  def text(self) -> str:
    return f"{self.title} {self.abstract}"


def iter_pubtator(path: str, error: Callable = FileError) -> Iterator[Document]:
  """The documents of a PubTator file, streamed, every line checked.

  Raises `error(path, line, message)` for a line that is none of the forms above, a
  document without its title or abstract, or an annotation whose offsets or mention do not
  match the text.
  """
  doc: Optional[Document] = None
  for lineno, line in files.read_lines(path, error=error, what="a PubTator file"):
    line = line.rstrip("\n").rstrip("\r")
    if not line.strip():
      if doc is not None:
        yield _complete(doc, path, error)
      doc = None
      continue
    parts = line.split("|", 2)
    if len(parts) == 3 and parts[1] in ("t", "a") and "\t" not in parts[0]:
      doc = _text_line(doc, parts, lineno, path, error)
      continue
    cols = line.split("\t")
    if doc is None or cols[0] != doc.pmid or len(cols) < 4:
      raise error(path, lineno, "expected 'PMID|t|title', 'PMID|a|abstract' or an annotation "
                  f"line 'PMID<TAB>start<TAB>end<TAB>mention<TAB>type', found {line[:60]!r}")
    if len(cols) >= 5 and cols[1].isdigit() and cols[2].isdigit():
      doc.annotations.append(_annotation(doc, cols, lineno, path, error))
  if doc is not None:
    yield _complete(doc, path, error)


def _text_line(doc, parts, lineno, path, error) -> Document:
  pmid, kind, text = parts
  if doc is not None and pmid != doc.pmid:
    raise error(path, lineno, f"document {pmid} starts before the blank line that must end "
                f"document {doc.pmid}")
  doc = doc or Document(pmid, None, None, lineno)
  if kind == "t":
    doc.title = text
  else:
    doc.abstract = text
  return doc


def _annotation(doc, cols, lineno, path, error) -> Annotation:
  if doc.title is None or doc.abstract is None:
    raise error(path, lineno, f"annotation before the title and abstract of {doc.pmid}")
  start, end, mention, kind = int(cols[1]), int(cols[2]), cols[3], cols[4]
  text = doc.text
  if not 0 <= start < end <= len(text):
    raise error(path, lineno, f"offsets {start}-{end} outside the document's {len(text)} "
                "characters (title + ' ' + abstract)")
  if text[start:end] != mention:
    raise error(path, lineno, f"mention {mention!r} but the text at {start}-{end} is "
                f"{text[start:end]!r}")
  if not kind.strip():
    raise error(path, lineno, "annotation without an entity type (5th column)")
  return Annotation(start, end, mention, kind)


def _complete(doc: Document, path: str, error) -> Document:
  if doc.title is None or doc.abstract is None:
    raise error(path, doc.line, f"document {doc.pmid} lacks its "
                f"{'title (|t|)' if doc.title is None else 'abstract (|a|)'} line")
  return doc


@dataclasses.dataclass
class Alignment:
  """What tagging tokens from character spans lost."""
  entities: int = 0
  overlapping_dropped: int = 0   # an annotation overlapping an earlier, longer one
  boundary_mismatches: int = 0   # an annotation starting or ending inside a token


def to_sentences(doc: Document, stats: Alignment) -> List[Sentence]:
  """The document's sentences (title, then abstract) with IOB2 tags from its annotations.

  A token overlapping an annotation takes its type (B- on the annotation's first token);
  an annotation that starts or ends inside a token still tags that whole token, and is
  counted in `stats.boundary_mismatches`. Of overlapping annotations the longer is kept.
  """
  spans = _non_overlapping(doc.annotations, stats)
  out = []
  for piece, offset in ((doc.title, 0), (doc.abstract, len(doc.title) + 1)):
    for tokens in tokenizer.tokenize_sentences(piece):
      tags = _tags([(t.start + offset, t.end + offset) for t in tokens], spans, stats)
      out.append(Sentence([t.text for t in tokens], tags, doc.line))
  return out


def _non_overlapping(annotations: List[Annotation], stats: Alignment) -> List[Annotation]:
  kept: List[Annotation] = []
  for a in sorted(annotations, key=lambda a: (a.start - a.end, a.start)):  # longest first
    if any(a.start < k.end and k.start < a.end for k in kept):
      stats.overlapping_dropped += 1
    else:
      kept.append(a)
  stats.entities += len(kept)
  return sorted(kept, key=lambda a: a.start)


def _tags(tokens: List[Tuple[int, int]], spans: List[Annotation], stats: Alignment
          ) -> List[str]:
  tags = ["O"] * len(tokens)
  for a in spans:
    inside = [i for i, (s, e) in enumerate(tokens) if s < a.end and a.start < e]
    if not inside:
      continue
    if tokens[inside[0]][0] != a.start or tokens[inside[-1]][1] != a.end:
      stats.boundary_mismatches += 1
    for i in inside:
      tags[i] = ("B-" if i == inside[0] else "I-") + a.type
  return tags


def read_pubtator_sentences(path: str, error: Callable = FileError) -> List[Sentence]:
  """Every document of a PubTator file as tagged sentences (`to_sentences`); logs what the
  token alignment lost."""
  stats, out = Alignment(), []
  for doc in iter_pubtator(path, error):
    out += to_sentences(doc, stats)
  if stats.overlapping_dropped or stats.boundary_mismatches:
    logging.warning("%s: %d entities; %d overlapping ones dropped, %d start or end inside a "
                    "token (whole tokens tagged)", path, stats.entities,
                    stats.overlapping_dropped, stats.boundary_mismatches)
  return out
