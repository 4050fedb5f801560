"""One tagging model behind one interface: a SavedModel's serving functions, or the same
functions built from a train_tagger run directory's best checkpoint (no export needed).

  annotator = Annotator("checkpoints/disease")      # or exports/ncbi/1, or runs/ncbi
  annotator.tag_texts(["Ataxia telangiectasia is rare."])  # graph tokenisation (tag_text)
  annotator.tag_sentences([["Ataxia", "telangiectasia"]])   # tokens (serving_default)
"""
import dataclasses
import os
from typing import List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tf_bilm_ner.errors import UserError, error_line
from tf_bilm_ner.serving import export, from_package
from tf_bilm_ner.serving.flat_call import FlatCall
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib


class InputError(UserError):
  """Input that cannot be tagged; the message names the file and line."""


class Annotator:
  """The serving functions of a SavedModel, or of a run directory's best checkpoint."""

  def __init__(self, path: str, xla_max_tokens: int = 0):
    """`xla_max_tokens` > 0: a call of one sentence of at most that many tokens runs the
    model's arithmetic XLA-compiled in this process (`ExportConfig.xla_max_tokens`; the
    first call of each padded length compiles, about half a second); a SavedModel is then
    rebuilt from its config and weights (`from_package`), the same numbers."""
    if os.path.exists(os.path.join(path, "saved_model.pb")):
      model = _load_saved_model(path)
      self.tags_file = os.path.join(path, "assets", "tags.txt")
      with open(os.path.join(path, "assets.extra", "export_config.json"), encoding="utf-8") as f:
        self.limits = export.ExportConfig.from_json(f.read())
      functions, self._keep = model.signatures, model
      if xla_max_tokens:
        self.limits = dataclasses.replace(self.limits, xla_max_tokens=xla_max_tokens)
        self._keep = from_package.module_from_package(path, self.limits, loaded=model)
        functions = self._keep.signatures()
    else:
      tagger, _, _, config = checkpoints.restore_tagger(path)
      self.tags_file = os.path.join(run_dir_lib.paths(path)["vocab"], "tags.txt")
      self.limits = export.ExportConfig(max_chars_per_token=config.encoder.max_chars_per_token,
                                        xla_max_tokens=xla_max_tokens)
      self.limits.validate()
      self._keep = export.TaggerModule(tagger, run_dir_lib.paths(path)["vocab"], self.limits)
      functions = self._keep.signatures()
    self._tokens_fn = FlatCall(functions["serving_default"])
    self._text_fn = FlatCall(functions["tag_text"])

  def check_length(self, path: str, sentence) -> None:
    """Raises InputError naming `path` and the sentence's line if it is longer than the
    model takes (`limits.max_tokens`); `sentence`: a `conll.Sentence`."""
    if len(sentence.tokens) > self.limits.max_tokens:
      raise InputError(f"{path}:{sentence.line}: sentence of {len(sentence.tokens)} tokens, "
                       f"more than the model's max_tokens={self.limits.max_tokens}")

  @property
  def tag_names(self) -> List[str]:
    """The tags the model predicts, in its tagging scheme (its tags.txt)."""
    with open(self.tags_file, encoding="utf-8") as f:
      return [line.rstrip("\n") for line in f if line.strip()]

  @property
  def serving_default(self):
    """The `serving_default` function: (tokens=[B, T] string, lengths=[B] int32) -> dict,
    called through `FlatCall` (the same outputs, less Python per call)."""
    return self._tokens_fn

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
    """Tokenised sentences -> predicted IOB2 tags."""
    return self.tag_sentences_scored(sentences)[0]

  def tag_sentences_scored(self, sentences: Sequence[Sequence[str]]
                           ) -> Tuple[List[List[str]], List[np.ndarray]]:
    """Tokenised sentences (at most limits.max_batch, each at most limits.max_tokens) ->
    (IOB2 tags per sentence, CRF marginal of each predicted tag [len] float32 per sentence)."""
    width = max([len(s) for s in sentences] + [1])
    tokens = [list(s) + [""] * (width - len(s)) for s in sentences]
    out = self._tokens_fn(tokens=tf.constant(tokens, tf.string),
                          lengths=tf.constant([len(s) for s in sentences], tf.int32))
    tags, confidence = out["tags"].numpy(), out["tag_confidence"].numpy()
    return ([[t.decode("utf-8") for t in row[:len(s)]] for row, s in zip(tags, sentences)],
            [row[:len(s)] for row, s in zip(confidence, sentences)])


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
