"""Raw text in, entity spans with character offsets out, with one model or several:

  from tf_bilm_ner import load_tagger
  tagger = load_tagger("bc5cdr")              # or "disease,gene", ["bc5cdr", "gene"], "all",
  for span in tagger("Cisplatin causes nephrotoxicity."):   # a SavedModel or run directory
    print(span)                               # 0-9 Chemical 'Cisplatin' 0.998 bc5cdr

`tagger(text)` gives a list of `Span`s; `tagger([text, ...])` a list per text, batched.

Models are named as `--init_from_bilm` names BiLMs: a path (a SavedModel version directory,
or a train_tagger run directory), or the name of a tagger shipped in `checkpoints/`; "all" is
every shipped tagger.

Every text is tokenised and split into sentences once (`data/tokenizer.py`, the rules the
exported `tag_text` signature runs in the graph; sentences longer than a model's
`max_tokens` are tagged in pieces, as there), and the sentences go through each model's
`serving_default` signature. Spans are conlleval's chunks of the predicted IOB2 tags; a
span's score is the lowest CRF marginal of its tags. Overlapping spans of different models
are all kept, each naming its model. Duplicates merge: spans of several models with the same
start, end and type are one span, with the highest score and the models joined by "+" in the
order they were given ("disease+bc5cdr"). Spans come in text order (start, then end, type,
model).
"""
import dataclasses
import os
from typing import Dict, List, Sequence, Tuple, Union

from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.metrics import chunks
from tf_bilm_ner.resources import SHIPPED_DIR
from tf_bilm_ner.serving.annotator import Annotator

ALL = "all"


class ModelNotFoundError(UserError):
  """A model name that is neither a path nor a shipped tagger."""


@dataclasses.dataclass(frozen=True)
class Span:
  """An entity: `text == document[start:end]` (offsets in code points, as Python's str)."""
  start: int
  end: int
  type: str
  text: str
  score: float  # lowest CRF marginal probability of the entity's tags
  model: str    # the model that found it ("a+b" when several found the same span)

  def __str__(self) -> str:
    return f"{self.start}-{self.end} {self.type} {self.text!r} {self.score:.3f} {self.model}"

  def to_dict(self) -> dict:
    return dict(dataclasses.asdict(self), score=round(self.score, 4))


def shipped_taggers() -> List[str]:
  """Names of the taggers (SavedModels) shipped in checkpoints/."""
  if not os.path.isdir(SHIPPED_DIR):
    return []
  return sorted(n for n in os.listdir(SHIPPED_DIR)
                if os.path.isfile(os.path.join(SHIPPED_DIR, n, "saved_model.pb")))


def resolve(names: Union[str, Sequence[str]]) -> List[Tuple[str, str]]:
  """"disease,gene" / ["disease", "runs/x"] / "all" -> [(model name, path)]."""
  if isinstance(names, str):
    names = [n.strip() for n in names.split(",") if n.strip()]
  if not names:
    raise ModelNotFoundError("no model given")
  out = []
  for name in names:
    if name == ALL:
      if not shipped_taggers():
        raise ModelNotFoundError(f"'{ALL}': no taggers shipped in {SHIPPED_DIR}")
      out += [(n, os.path.join(SHIPPED_DIR, n)) for n in shipped_taggers()]
    elif os.path.isdir(name):
      base = os.path.basename(os.path.normpath(name))
      parent = os.path.basename(os.path.dirname(os.path.normpath(name)))
      out.append((parent if base.isdigit() and parent else base, name))  # exports/ncbi/1: ncbi
    elif name in shipped_taggers():
      out.append((name, os.path.join(SHIPPED_DIR, name)))
    else:
      raise ModelNotFoundError(
          f"{name}: no such SavedModel or run directory, nor a tagger shipped in "
          f"{SHIPPED_DIR} (shipped: {', '.join(shipped_taggers()) or 'none'})")
  unique, seen = [], set()
  for name, path in out:  # the same model twice ("disease,all") is tagged once
    if os.path.realpath(path) not in seen:
      seen.add(os.path.realpath(path))
      unique.append((name, path))
  names = [n for n, _ in unique]
  twice = sorted({n for n in names if names.count(n) > 1})
  if twice:
    raise ModelNotFoundError(f"two models are named {twice[0]!r}: give directories with "
                             "different names")
  return unique


class TextTagger:
  """Tags raw texts with one or several models after one tokenisation (module docstring)."""

  def __init__(self, models: Sequence[Tuple[str, Annotator]], batch_sentences: int = 256):
    if not models:
      raise ValueError("TextTagger needs at least one model")
    self.models = list(models)
    self.names = [name for name, _ in self.models]
    self.batch_sentences = min([batch_sentences] + [a.limits.max_batch for _, a in models])
    self.max_tokens = min(a.limits.max_tokens for _, a in models)

  def __call__(self, texts: Union[str, Sequence[str]]) -> Union[List[Span], List[List[Span]]]:
    """A text -> its spans; a list of texts -> a list of spans per text."""
    if isinstance(texts, str):
      return self.tag_texts([texts])[0]
    return self.tag_texts(list(texts))

  def tag_texts(self, texts: Sequence[str]) -> List[List[Span]]:
    for i, text in enumerate(texts):
      if not isinstance(text, str):
        raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
    sentences = self.sentences(texts)
    found: List[Dict[Tuple[int, int, str], Span]] = [{} for _ in texts]
    for name, annotator in self.models:
      for first in range(0, len(sentences), self.batch_sentences):
        batch = sentences[first:first + self.batch_sentences]
        tags, confidence = annotator.tag_sentences_scored([[t.text for t in s]
                                                           for _, s in batch])
        for (doc, tokens), row_tags, row_conf in zip(batch, tags, confidence):
          for typ, i, j in chunks(row_tags):
            start, end = tokens[i].start, tokens[j - 1].end
            _add(found[doc], Span(start, end, typ, texts[doc][start:end],
                                  float(min(row_conf[i:j])), name))
    return [sorted(spans.values(), key=lambda s: (s.start, s.end, s.type, s.model))
            for spans in found]

  def sentences(self, texts: Sequence[str]) -> List[Tuple[int, List[tokenizer.Token]]]:
    """(text index, tokens) of every sentence piece of at most max_tokens tokens."""
    out = []
    for doc, text in enumerate(texts):
      for sentence in tokenizer.tokenize_sentences(text):
        out += [(doc, sentence[k:k + self.max_tokens])
                for k in range(0, len(sentence), self.max_tokens)]
    return out


def _add(spans: Dict[Tuple[int, int, str], Span], span: Span) -> None:
  key = (span.start, span.end, span.type)
  old = spans.get(key)
  if old is None:
    spans[key] = span
  elif span.model not in old.model.split("+"):
    spans[key] = dataclasses.replace(old, score=max(old.score, span.score),
                                     model=f"{old.model}+{span.model}")


def load_tagger(models: Union[str, Sequence[str]], batch_sentences: int = 256,
                xla_max_tokens: int = 0) -> TextTagger:
  """A `TextTagger` over the named models: shipped names, "all", or paths (module docstring).

  `xla_max_tokens` > 0: a text of one sentence of at most that many tokens is tagged through
  the XLA-compiled model in this process (`Annotator`): about a third less latency for
  single sentences (results/README.md, "Seventh pass"), a compile of about half a second at
  the first sentence of each padded length; batches are unchanged.

  Raises ModelNotFoundError (a UserError) for an unknown name, and the Annotator's errors
  for a damaged SavedModel or run directory.
  """
  return TextTagger([(name, Annotator(path, xla_max_tokens)) for name, path in resolve(models)],
                    batch_sentences)
