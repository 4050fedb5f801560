"""Tagging documents from files (or stdin, "-"), streamed, with one or several models
(SavedModels, training run directories or shipped taggers; see text_tagger.py).

Inputs:  text       one document per line (blank lines skipped; id = line number)
         text_files each file one document (id = file path)
         pubtator   `PMID|t|title`, `PMID|a|abstract`, annotation lines, blank line
         conll      tokenised sentences (tags, if any, are kept as gold)
Outputs: jsonl      {"id", "text", "entities": [{"start", "end", "type", "text", "score",
                    "model"}]}
                    per document (conll input: {"id", "tokens", "tags"} per sentence)
         pubtator   the documents with our entities as annotation lines
                    `PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>-` (input annotations
                    are not copied)
         conll      token<TAB>[gold<TAB>]predicted, a blank line after each sentence
                    (CoNLL input or output: one model at a time)

Raw text is tokenised once and tagged by every model (text_tagger.TextTagger: the tokeniser
and span rules of the exported `tag_text` signature; spans of several models all kept, exact
duplicates merged). PubTator titles and abstracts are tagged as separate documents and
offsets are into `title + " " + abstract`, as PubTator counts them. Memory is bounded by one
batch; the output is written under a temporary name and renamed when complete (stdout, "-",
is written as it goes).
"""
import dataclasses
import itertools
import json
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from tf_bilm_ner import files, metrics
from tf_bilm_ner.data import conll, tokenizer
from tf_bilm_ner.errors import located
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving.annotator import Annotator, InputError
from tf_bilm_ner.serving.text_tagger import TextTagger
from tf_bilm_ner.training.progress import Progress

INPUT_FORMATS = ("text", "text_files", "pubtator", "conll")
OUTPUT_FORMATS = ("jsonl", "pubtator", "conll")


@dataclasses.dataclass
class Document:
  id: str
  text: str              # for PubTator: title + " " + abstract
  title_length: int = -1  # PubTator only


def read_text_lines(path: str) -> Iterator[Document]:
  for lineno, line in _lines(path):
    if line.strip():
      yield Document(f"{'<stdin>' if path == files.STDIN else path}:{lineno}",
                     line.rstrip("\n").rstrip("\r"))


def read_text_files(paths: Sequence[str]) -> Iterator[Document]:
  for path in paths:
    yield Document(path, "".join(line for _, line in _lines(path)))


def read_pubtator(path: str) -> Iterator[Document]:
  """PubTator documents; annotation lines are checked and skipped."""
  pmid, title, abstract, start = None, None, None, 0

  def done():
    if pmid is None:
      return None
    if title is None or abstract is None:
      raise InputError(f"{path}:{start}: document {pmid} lacks its "
                       f"{'title (|t|)' if title is None else 'abstract (|a|)'} line")
    return Document(pmid, f"{title} {abstract}", len(title))

  for lineno, line in _lines(path):
    line = line.rstrip("\n").rstrip("\r")
    if not line.strip():
      doc = done()
      if doc:
        yield doc
      pmid, title, abstract = None, None, None
      continue
    parts = line.split("|", 2)
    if len(parts) == 3 and parts[1] in ("t", "a"):
      if pmid is not None and parts[0] != pmid:
        raise InputError(f"{path}:{lineno}: document {parts[0]} starts before the blank line "
                         f"that must end document {pmid}")
      if pmid is None:
        pmid, start = parts[0], lineno
      if parts[1] == "t":
        title = parts[2]
      else:
        abstract = parts[2]
      continue
    cols = line.split("\t")
    if pmid is None or cols[0] != pmid or len(cols) < 4:
      raise InputError(f"{path}:{lineno}: expected 'PMID|t|title', 'PMID|a|abstract' or an "
                       f"annotation line 'PMID<TAB>start<TAB>end<TAB>...', found {line[:60]!r}")
  doc = done()
  if doc:
    yield doc


def _lines(path: str) -> Iterator[Tuple[int, str]]:
  return files.read_lines(path, error=located(InputError))


def _batches(docs: Iterable[Document], limits: export.ExportConfig) -> Iterator[List[Document]]:
  """Groups documents so that a batch respects the model's request limits."""
  batch, chars = [], 0
  for doc in docs:
    if len(doc.text) > limits.max_text_chars:
      raise InputError(f"document {doc.id}: {len(doc.text)} characters, more than the model's "
                       f"max_text_chars={limits.max_text_chars}")
    if batch and (len(batch) >= min(limits.max_batch, 64)
                  or chars + len(doc.text) > limits.max_text_chars):
      yield batch
      batch, chars = [], 0
    batch.append(doc)
    chars += len(doc.text)
  if batch:
    yield batch


def _tag_documents(tagger: TextTagger, docs: List[Document]) -> List[List[dict]]:
  """Entities per document (dicts, with the model); PubTator titles and abstracts apart."""
  pieces, shifts, owner = [], [], []
  for i, doc in enumerate(docs):
    if doc.title_length >= 0:
      pieces += [doc.text[:doc.title_length], doc.text[doc.title_length + 1:]]
      shifts += [0, doc.title_length + 1]
      owner += [i, i]
    else:
      pieces.append(doc.text)
      shifts.append(0)
      owner.append(i)
  out: List[List[dict]] = [[] for _ in docs]
  for i, shift, spans in zip(owner, shifts, tagger.tag_texts(pieces)):
    out[i] += [dict(s.to_dict(), start=s.start + shift, end=s.end + shift) for s in spans]
  return out


def annotate(inputs: Sequence[str], input_format: str, output: str, output_format: str,
             tagger: Union[TextTagger, Annotator], text: Optional[str] = None,
             entity_type: str = conll.DEFAULT_ENTITY_TYPE) -> Dict[str, int]:
  """Tags `inputs` (files, "-" for stdin), or the one document `text`, into `output` ("-" for
  stdout) with every model of `tagger`; returns counts. See the module docstring."""
  if isinstance(tagger, Annotator):
    tagger = TextTagger([("model", tagger)])
  if input_format not in INPUT_FORMATS or output_format not in OUTPUT_FORMATS:
    raise InputError(f"formats: input one of {INPUT_FORMATS}, output one of {OUTPUT_FORMATS}")
  if input_format == "conll" and output_format == "pubtator":
    raise InputError("conll input has no text to give PubTator offsets into; "
                     "write jsonl or conll")
  if "conll" in (input_format, output_format) and len(tagger.models) > 1:
    raise InputError(f"CoNLL {'input' if input_format == 'conll' else 'output'} takes one "
                     f"model at a time, got {len(tagger.models)} ({', '.join(tagger.names)})")
  progress = Progress()
  with files.output_stream(output) as out:
    if input_format == "conll":
      _annotate_conll(inputs, out, output_format, tagger.models[0][1], progress, entity_type)
    else:
      docs = [Document("text", text)] if text is not None else _documents(inputs, input_format)
      _annotate_documents(docs, out, output_format, tagger, progress)
  progress.tagged(0, 0, 0, force=True)
  return {"documents": progress.docs, "entities": progress.entities}


def _documents(inputs: Sequence[str], input_format: str) -> Iterable[Document]:
  if input_format == "text_files":
    return read_text_files(inputs)
  reader = read_text_lines if input_format == "text" else read_pubtator
  return (d for path in inputs for d in reader(path))


def _annotate_documents(docs: Iterable[Document], out, output_format: str,
                        tagger: TextTagger, progress: Progress) -> None:
  write = _WRITERS[output_format]
  annotator = tagger.models[0][1]
  for batch in _batches(docs, annotator.limits):
    chars = sum(len(d.text) for d in batch)
    if output_format == "conll":
      found = sum(write(out, doc, annotator) for doc in batch)
      progress.tagged(len(batch), chars, found)
      continue
    entities = _tag_documents(tagger, batch)
    for doc, ents in zip(batch, entities):
      write(out, doc, ents)
    progress.tagged(len(batch), chars, sum(map(len, entities)))


def _write_jsonl(out, doc: Document, entities: List[dict]) -> None:
  out.write(json.dumps({"id": doc.id, "text": doc.text, "entities": entities},
                       ensure_ascii=False) + "\n")


def _write_pubtator(out, doc: Document, entities: List[dict]) -> None:
  if doc.title_length >= 0:
    title, abstract = doc.text[:doc.title_length], doc.text[doc.title_length + 1:]
  else:
    title, abstract = "", doc.text  # offsets then count from a 1-character title separator
    entities = [dict(e, start=e["start"] + 1, end=e["end"] + 1) for e in entities]
  pmid = doc.id.replace("|", "_").replace("\t", " ")
  out.write(f"{pmid}|t|{title}\n{pmid}|a|{abstract}\n")
  for e in entities:
    out.write(f"{pmid}\t{e['start']}\t{e['end']}\t{e['text']}\t{e['type']}\t-\n")
  out.write("\n")


def _write_conll_from_text(out, doc: Document, annotator: Annotator) -> int:
  """Writes the document's sentences as token<TAB>tag lines; returns its number of entities."""
  sentences = [[t.text for t in s] for s in tokenizer.tokenize_sentences(doc.text)]
  found = 0
  for sentence, tags in zip(sentences, annotator.tag_sentences(sentences) if sentences else []):
    for token, tag in zip(sentence, tags):
      out.write(f"{token}\t{tag}\n")
    out.write("\n")
    found += len(metrics.chunks(tags))
  return found


_WRITERS: Dict[str, Callable] = {"jsonl": _write_jsonl, "pubtator": _write_pubtator,
                                 "conll": _write_conll_from_text}


def _annotate_conll(inputs, out, output_format, annotator, progress, entity_type) -> None:
  for path in inputs:
    batch: List[conll.Sentence] = []
    stream = conll.iter_conll(path, require_tags=False, entity_type=entity_type)
    for sentence in itertools.chain(stream, [None]):  # None: flush the last batch
      if sentence is not None:
        annotator.check_length(path, sentence)
        batch.append(sentence)
      if batch and (sentence is None or len(batch) >= 128):
        tags = annotator.tag_sentences([s.tokens for s in batch])
        for s, predicted in zip(batch, tags):
          if output_format == "conll":
            for tok, gold, pred in zip(s.tokens, s.tags, predicted):
              out.write(f"{tok}\t{gold}\t{pred}\n")
            out.write("\n")
          else:
            out.write(json.dumps({"id": f"{path}:{s.line}", "tokens": s.tokens,
                                  "tags": predicted}, ensure_ascii=False) + "\n")
        progress.tagged(len(batch), sum(len(" ".join(s.tokens)) for s in batch),
                        sum(len(metrics.chunks(t)) for t in tags))
        batch = []

