"""Tagging documents from files, streamed, with a SavedModel or a training run directory.

Inputs:  text       one document per line (blank lines skipped; id = line number)
         text_files each file one document (id = file path)
         pubtator   `PMID|t|title`, `PMID|a|abstract`, annotation lines, blank line
         conll      tokenised sentences (tags, if any, are kept as gold)
Outputs: jsonl      {"id", "text", "entities": [{"start", "end", "type", "text", "score"}]}
                    per document (conll input: {"id", "tokens", "tags"} per sentence)
         pubtator   the documents with our entities as annotation lines
                    `PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>-` (input annotations
                    are not copied)
         conll      token<TAB>[gold<TAB>]predicted, a blank line after each sentence

Raw text goes through the model's `tag_text` function (tokenisation, sentence
splitting and span decoding in the graph); PubTator titles and abstracts are
tagged as separate documents and offsets are into `title + " " + abstract`,
as PubTator counts them. Memory is bounded by one batch; the output is written
under a temporary name and renamed when complete.
"""
import dataclasses
import itertools
import json
import os
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

import tensorflow as tf

from tf_bilm_ner import files
from tf_bilm_ner.data import conll, tokenizer
from tf_bilm_ner.errors import UserError, error_line, located
from tf_bilm_ner.serving import export
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.training.progress import Progress

INPUT_FORMATS = ("text", "text_files", "pubtator", "conll")
OUTPUT_FORMATS = ("jsonl", "pubtator", "conll")


class InputError(UserError):
  """Input that cannot be tagged; the message names the file and line."""


@dataclasses.dataclass
class Document:
  id: str
  text: str              # for PubTator: title + " " + abstract
  title_length: int = -1  # PubTator only


class Annotator:
  """The serving functions of a SavedModel, or of a run directory's best checkpoint."""

  def __init__(self, path: str):
    if os.path.exists(os.path.join(path, "saved_model.pb")):
      model = _load_saved_model(path)
      self._tokens_fn = model.signatures["serving_default"]
      self._text_fn = model.signatures["tag_text"]
      with open(os.path.join(path, "assets.extra", "export_config.json"), encoding="utf-8") as f:
        self.limits = export.ExportConfig.from_json(f.read())
      self._keep = model
    else:
      tagger, _, _, config = checkpoints.restore_tagger(path)
      self.limits = export.ExportConfig(max_chars_per_token=config.encoder.max_chars_per_token)
      module = export.TaggerModule(tagger, run_dir_lib.paths(path)["vocab"], self.limits)
      self._tokens_fn = lambda tokens, lengths: module.tag_tokens(tokens, lengths)
      self._text_fn = lambda text: module.tag_text(text)
      self._keep = module

  def tag_texts(self, texts: Sequence[str]) -> List[List[dict]]:
    """Documents -> entities per document (dicts: start, end, type, text, score)."""
    out = self._text_fn(text=tf.constant(list(texts), tf.string))
    result = []
    for d in range(len(texts)):
      n = int(out["num_entities"][d])
      result.append([{"start": int(out["entity_start"][d, i]), "end": int(out["entity_end"][d, i]),
                      "type": out["entity_type"][d, i].numpy().decode("utf-8"),
                      "text": out["entity_text"][d, i].numpy().decode("utf-8"),
                      "score": round(float(out["entity_score"][d, i]), 4)} for i in range(n)])
    return result

  def tag_sentences(self, sentences: Sequence[Sequence[str]]) -> List[List[str]]:
    """Tokenised sentences -> predicted tags."""
    width = max([len(s) for s in sentences] + [1])
    tokens = [list(s) + [""] * (width - len(s)) for s in sentences]
    out = self._tokens_fn(tokens=tf.constant(tokens, tf.string),
                          lengths=tf.constant([len(s) for s in sentences], tf.int32))
    return [[t.decode("utf-8") for t in row[:len(s)]]
            for row, s in zip(out["tags"].numpy(), sentences)]


def _load_saved_model(path: str):
  """tf.saved_model.load, with a missing asset or a damaged file as one line naming the file."""
  needed = [os.path.join(path, "assets", f"{n}.txt") for n in ("words", "chars", "tags")]
  needed.append(os.path.join(path, "assets.extra", "export_config.json"))
  missing = [f for f in needed if not os.path.isfile(f)]
  if missing:
    raise InputError(f"{missing[0]}: missing from the SavedModel; re-export it with "
                     "tools/export_saved_model.py")
  try:
    model = tf.saved_model.load(path)
  except (tf.errors.OpError, ValueError, OSError, IndexError) as e:  # IndexError: data cut short
    raise InputError(f"{path}: not a loadable SavedModel ({error_line(e)[:300]})") from None
  if not {"serving_default", "tag_text"} <= set(model.signatures):
    raise InputError(f"{path}: SavedModel has signatures {sorted(model.signatures)}, expected "
                     "serving_default and tag_text (export with tools/export_saved_model.py)")
  return model


def read_text_lines(path: str) -> Iterator[Document]:
  for lineno, line in _lines(path):
    if line.strip():
      yield Document(f"{path}:{lineno}", line.rstrip("\n").rstrip("\r"))


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


def _tag_documents(annotator: Annotator, docs: List[Document]) -> List[List[dict]]:
  """Entities per document; PubTator titles and abstracts are tagged apart."""
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
  for i, shift, entities in zip(owner, shifts, annotator.tag_texts(pieces)):
    out[i] += [dict(e, start=e["start"] + shift, end=e["end"] + shift) for e in entities]
  return out


def annotate(inputs: Sequence[str], input_format: str, output: str, output_format: str,
             annotator: Annotator) -> Dict[str, int]:
  """Tags `inputs` into `output`; returns counts. See the module docstring."""
  if input_format not in INPUT_FORMATS or output_format not in OUTPUT_FORMATS:
    raise InputError(f"formats: input one of {INPUT_FORMATS}, output one of {OUTPUT_FORMATS}")
  if input_format == "conll" and output_format == "pubtator":
    raise InputError("conll input has no text to give PubTator offsets into; "
                     "write jsonl or conll")
  progress = Progress()
  with files.atomic_file(output) as out:
    if input_format == "conll":
      _annotate_conll(inputs, out, output_format, annotator, progress)
    else:
      _annotate_documents(_documents(inputs, input_format), out, output_format, annotator,
                          progress)
  progress.tagged(0, 0, 0, force=True)
  return {"documents": progress.docs, "entities": progress.entities}


def _documents(inputs: Sequence[str], input_format: str) -> Iterable[Document]:
  if input_format == "text_files":
    return read_text_files(inputs)
  reader = read_text_lines if input_format == "text" else read_pubtator
  return (d for path in inputs for d in reader(path))


def _annotate_documents(docs: Iterable[Document], out, output_format: str,
                        annotator: Annotator, progress: Progress) -> None:
  write = _WRITERS[output_format]
  for batch in _batches(docs, annotator.limits):
    chars = sum(len(d.text) for d in batch)
    if output_format == "conll":
      for doc in batch:
        write(out, doc, annotator)
      progress.tagged(len(batch), chars, 0)
      continue
    entities = _tag_documents(annotator, batch)
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


def _write_conll_from_text(out, doc: Document, annotator: Annotator) -> None:
  sentences = [[t.text for t in s] for s in tokenizer.tokenize_sentences(doc.text)]
  for sentence, tags in zip(sentences, annotator.tag_sentences(sentences) if sentences else []):
    for token, tag in zip(sentence, tags):
      out.write(f"{token}\t{tag}\n")
    out.write("\n")


_WRITERS: Dict[str, Callable] = {"jsonl": _write_jsonl, "pubtator": _write_pubtator,
                                 "conll": _write_conll_from_text}


def _annotate_conll(inputs, out, output_format, annotator, progress) -> None:
  max_tokens = annotator.limits.max_tokens
  for path in inputs:
    batch: List[conll.Sentence] = []
    stream = conll.iter_conll(path, require_tags=False)
    for sentence in itertools.chain(stream, [None]):  # None: flush the last batch
      if sentence is not None:
        if len(sentence.tokens) > max_tokens:
          raise InputError(f"{path}:{sentence.line}: sentence of {len(sentence.tokens)} tokens, "
                           f"more than the model's max_tokens={max_tokens}")
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
        progress.tagged(len(batch), sum(len(s.tokens) for s in batch), 0)
        batch = []

