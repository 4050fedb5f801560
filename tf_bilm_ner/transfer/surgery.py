"""Checkpoint surgery: a pretrained BiLM's encoder weights into a tagger.

The BiLM and the tagger share the `Encoder` class under the attribute name
`encoder`, so their encoder variables have the same checkpoint keys
(`model/encoder/...`). `transfer` reads the BiLM checkpoint with
`tf.train.load_checkpoint` and assigns:

  mapped    word embedding (rows remapped by word string), CharCNN character
            embedding (rows remapped by character), CharCNN convolution, forward
            and backward LSTM kernels and biases (shapes must match exactly);
  skipped   the softmax heads, optimiser slots and step counters, and the loop
            state (`epoch`, `batches_in_epoch`, `save_counter`);
  left      the tagger's projection and CRF transitions at their initialisation.

Any other variable in the checkpoint, a missing encoder variable or a shape
mismatch is a `TransferError`. Vocabulary rows: a tagger word the BiLM has
(same normalised string) gets the BiLM's row; `<pad>` and `<unk>` get the BiLM's
`<pad>` and `<unk>` rows; any other word keeps its fresh initialisation and is
counted. Characters likewise.
"""
import dataclasses
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.config import BiLMConfig, ConfigError, EncoderConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.errors import UserError, error_line
from tf_bilm_ner.layers.encoder import Encoder
from tf_bilm_ner.resources import SHIPPED_DIR

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
# The repository's checkpoints/ (tf_bilm_ner/transfer/surgery.py -> the checkout's root).
# Checkpoint name under model/encoder/ -> the tagger's variable.
ENCODER_VARIABLES: Dict[str, Callable[[Encoder], tf.Variable]] = {
    "word_embedding/embeddings": lambda e: e.word_embedding.embeddings,
    "char_cnn/embedding/embeddings": lambda e: e.char_cnn.embedding.embeddings,
    "char_cnn/conv/kernel": lambda e: e.char_cnn.conv.kernel,
    "char_cnn/conv/bias": lambda e: e.char_cnn.conv.bias,
    "forward_lstm/cell/kernel": lambda e: e.forward_lstm.cell.kernel,
    "forward_lstm/cell/recurrent_kernel": lambda e: e.forward_lstm.cell.recurrent_kernel,
    "forward_lstm/cell/bias": lambda e: e.forward_lstm.cell.bias,
    "backward_lstm/cell/kernel": lambda e: e.backward_lstm.cell.kernel,
    "backward_lstm/cell/recurrent_kernel": lambda e: e.backward_lstm.cell.recurrent_kernel,
    "backward_lstm/cell/bias": lambda e: e.backward_lstm.cell.bias,
}
SKIPPED_MODEL_VARIABLES = ("model/softmax_weights", "model/softmax_biases")
LOOP_STATE = ("epoch", "batches_in_epoch", "save_counter", "epoch_loss_forward",
              "epoch_loss_backward", "epoch_batches", "epoch_tokens")
# Sizes the tagger must share with the BiLM for the weights to fit.
SHARED_SIZES = ("word_dim", "char_dim", "char_filters", "char_kernel_size", "lstm_units")


class TransferError(UserError):
  """A BiLM checkpoint that cannot initialise this tagger; the message says why."""


@dataclasses.dataclass
class BiLMSource:
  """A pretrained BiLM on disk: its config, vocabularies and checkpoint prefix."""
  directory: str
  config: BiLMConfig
  words: vocab_lib.Vocabulary
  chars: vocab_lib.Vocabulary
  checkpoint: str


@dataclasses.dataclass
class TransferReport:
  rows: List[Tuple[str, str, str]]  # (variable, mapped|skipped|left, detail)
  words_mapped: int = 0
  words_fresh: int = 0
  chars_mapped: int = 0
  chars_fresh: int = 0

  def save(self, path: str, source: "BiLMSource") -> None:
    """Writes the report and its source as JSON (atomically)."""
    files.write_json_atomic(path, dict(
        source=source.directory, checkpoint=source.checkpoint, rows=self.rows,
        words_mapped=self.words_mapped, words_fresh=self.words_fresh,
        chars_mapped=self.chars_mapped, chars_fresh=self.chars_fresh))

  def log(self) -> None:
    for name, status, detail in self.rows:
      logging.info("transfer %-8s %-60s %s", status, name, detail)
    logging.info("transfer: %d tagger words from the BiLM, %d fresh; %d characters from the "
                 "BiLM, %d fresh", self.words_mapped, self.words_fresh, self.chars_mapped,
                 self.chars_fresh)


def shipped() -> List[str]:
  """Names of the BiLMs shipped in the repository's checkpoints/ (see packaging.py)."""
  if not os.path.isdir(SHIPPED_DIR):
    return []
  return sorted(n for n in os.listdir(SHIPPED_DIR)
                if os.path.exists(os.path.join(SHIPPED_DIR, n, "bilm_config.json")))


def resolve(path: str) -> str:
  """A BiLM path as given if it exists, else the shipped BiLM of that name."""
  if tf.io.gfile.glob(path.rstrip("/") + "*"):
    return path
  if path in shipped():
    return os.path.join(SHIPPED_DIR, path)
  raise TransferError(f"{path}: no such BiLM directory or checkpoint, nor a shipped BiLM of "
                      f"that name (shipped: {', '.join(shipped()) or 'none'})")


def load_source(path: str) -> BiLMSource:
  """Reads a BiLM directory (a train_bilm run dir or a packaged one, see packaging.py).

  `path` holds bilm_config.json, vocab/words.txt, vocab/chars.txt and ckpt/
  (its latest checkpoint is used); or `path` is a checkpoint prefix inside such
  a directory's ckpt/; or `path` is the name of a BiLM shipped in checkpoints/.
  """
  path = resolve(path)
  directory, prefix = path.rstrip("/"), None
  if not os.path.isdir(directory):  # a checkpoint prefix, e.g. runs/bilm/ckpt/ckpt-12
    prefix, directory = path, os.path.dirname(os.path.dirname(os.path.abspath(path)))
  try:
    config = BiLMConfig.load(os.path.join(directory, "bilm_config.json"))
    words = vocab_lib.Vocabulary.load(os.path.join(directory, "vocab", "words.txt"),
                                      reserved=LM_RESERVED)
    chars = vocab_lib.Vocabulary.load(os.path.join(directory, "vocab", "chars.txt"))
  except (ConfigError, vocab_lib.VocabularyError) as e:
    raise TransferError(f"{path}: not a usable BiLM directory: {e}") from None
  if prefix is None:
    prefix = tf.train.latest_checkpoint(os.path.join(directory, "ckpt"))
    if prefix is None:
      raise TransferError(f"{os.path.join(directory, 'ckpt')}: no checkpoint found")
  e = config.encoder
  if (len(words), len(chars)) != (e.word_vocab_size, e.char_vocab_size):
    raise TransferError(f"{directory}: vocabularies ({len(words)} words, {len(chars)} chars) do "
                        f"not match bilm_config.json ({e.word_vocab_size}, {e.char_vocab_size})")
  return BiLMSource(directory, config, words, chars, prefix)


def check_sizes(encoder: EncoderConfig, source: BiLMSource, names=SHARED_SIZES,
                this: str = "tagger") -> None:
  """Raises TransferError if `encoder`'s sizes `names` differ from the BiLM's (`this` names
  the side of `encoder` in the message)."""
  diff = [f"{n}: {this} {getattr(encoder, n)}, BiLM {getattr(source.config.encoder, n)}"
          for n in names if getattr(encoder, n) != getattr(source.config.encoder, n)]
  if diff:
    raise TransferError(f"{source.directory}: encoder sizes differ ({'; '.join(diff)})")


def sizes_from_bilm(encoder: EncoderConfig, bilm: EncoderConfig, keep: Sequence[str] = ()
                    ) -> EncoderConfig:
  """`encoder` with the BiLM's shared sizes (`SHARED_SIZES`), except those named in `keep`
  (sizes asked for explicitly; `check_sizes` then tells whether they fit)."""
  return dataclasses.replace(encoder, **{n: getattr(bilm, n) for n in SHARED_SIZES
                                         if n not in keep})


def continued_config(source: BiLMSource, config: BiLMConfig, given: Dict[str, int]
                     ) -> BiLMConfig:
  """The BiLMConfig for pretraining continued from `source`: the source's sizes, with
  `config`'s sampled-softmax size and dropout. `given`: sizes asked for explicitly, which
  must be the source's (TransferError otherwise)."""
  asked = EncoderConfig(**{n: given.get(n, getattr(source.config.encoder, n))
                           for n in SHARED_SIZES})
  check_sizes(asked, source, this="asked for")
  return dataclasses.replace(source.config, num_sampled=config.num_sampled,
                             encoder=dataclasses.replace(source.config.encoder,
                                                         dropout=config.encoder.dropout))


def extend(vocab: vocab_lib.Vocabulary, bilm_vocab: vocab_lib.Vocabulary) -> vocab_lib.Vocabulary:
  """`vocab` plus every entry of `bilm_vocab` it lacks (appended in the BiLM's order).

  Words that occur only in devel/test text then still get pretrained rows.
  """
  extra = [w for w in bilm_vocab.entries[len(bilm_vocab.reserved):] if w not in vocab]
  return vocab_lib.Vocabulary(vocab.entries + extra, vocab.reserved)


def _rows(target: np.ndarray, value: np.ndarray, tagger_vocab: vocab_lib.Vocabulary,
          bilm_vocab: vocab_lib.Vocabulary, fresh_as_unk: bool = False
          ) -> Tuple[np.ndarray, int]:
  """Copies BiLM rows into `target` by entry string -> (new rows, rows mapped).

  Entries the BiLM lacks keep `target`'s row, or with `fresh_as_unk` get the BiLM's `<unk>`
  row (what the BiLM itself would have read for them).
  """
  out, mapped = target.copy(), 0
  for i, entry in enumerate(tagger_vocab.entries):
    if entry in bilm_vocab:
      out[i] = value[bilm_vocab.id(entry)]
      mapped += 1
    elif fresh_as_unk and i != vocab_lib.PAD_ID:
      out[i] = value[vocab_lib.UNK_ID]
  return out, mapped


_READ_ERRORS = (tf.errors.OpError, ValueError, IndexError)  # IndexError: truncated data file


def _unreadable(path: str, e: Exception) -> TransferError:
  return TransferError(f"{path}: unreadable checkpoint ({error_line(e)})")


def _read(path: str):
  try:
    reader = tf.train.load_checkpoint(path)
    return reader, reader.get_variable_to_shape_map()
  except _READ_ERRORS as e:
    raise _unreadable(path, e) from None


def transfer(encoder: Encoder, words: vocab_lib.Vocabulary, chars: vocab_lib.Vocabulary,
             source: BiLMSource, left: Optional[List[str]] = None,
             fresh_as_unk: bool = False) -> TransferReport:
  """Assigns the BiLM's encoder weights to `encoder` (variables must exist).

  Args:
    encoder: the tagger's encoder, built.
    words, chars: the tagger's vocabularies (the embedding rows' meaning).
    source: from `load_source`.
    left: names of the tagger's own variables left at their initialisation, for the log.
    fresh_as_unk: words and characters the BiLM lacks get its `<unk>` row instead of
      keeping their initialisation (for the frozen `bilm_encoder`, which never trains).
  """
  check_sizes(encoder.config, source)
  reader, shapes = _read(source.checkpoint)
  report = TransferReport(rows=[])
  for key in sorted(shapes):
    name = key[:-len(SUFFIX)] if key.endswith(SUFFIX) else key
    if name.startswith("model/encoder/") and ".OPTIMIZER_SLOT" not in name:
      if name[len("model/encoder/"):] not in ENCODER_VARIABLES:
        raise TransferError(f"{source.checkpoint}: unexpected encoder variable {name} "
                            f"{shapes[key]}; this code maps {sorted(ENCODER_VARIABLES)}")
      continue
    if (name in SKIPPED_MODEL_VARIABLES or ".OPTIMIZER_SLOT" in name
        or name.startswith("optimizer/") or name in LOOP_STATE
        or name == "_CHECKPOINTABLE_OBJECT_GRAPH"):
      report.rows.append((name, "skipped", str(shapes[key])))
      continue
    raise TransferError(f"{source.checkpoint}: unexpected variable {name} {shapes[key]}: not a "
                        "tf_bilm_ner BiLM checkpoint")
  for short, get in ENCODER_VARIABLES.items():
    key = f"model/encoder/{short}{SUFFIX}"
    if key not in shapes:
      raise TransferError(f"{source.checkpoint}: has no {key}; not a BiLM of this architecture")
    try:
      var, value = get(encoder), reader.get_tensor(key)
    except _READ_ERRORS as e:
      raise _unreadable(source.checkpoint, e) from None
    detail = f"{list(value.shape)}"
    if short == "word_embedding/embeddings":
      value, report.words_mapped = _rows(var.numpy(), value, words, source.words, fresh_as_unk)
      report.words_fresh = len(words) - report.words_mapped
      detail += f" -> {list(var.shape)}, rows by word: {report.words_mapped} mapped, " \
                f"{report.words_fresh} fresh"
    elif short == "char_cnn/embedding/embeddings":
      value, report.chars_mapped = _rows(var.numpy(), value, chars, source.chars, fresh_as_unk)
      report.chars_fresh = len(chars) - report.chars_mapped
      detail += f" -> {list(var.shape)}, rows by character: {report.chars_mapped} mapped, " \
                f"{report.chars_fresh} fresh"
    elif tuple(value.shape) != tuple(var.shape):
      raise TransferError(f"{source.checkpoint}: {short} has shape {list(value.shape)}, the "
                          f"tagger's has {list(var.shape)}")
    var.assign(value.astype(var.dtype.as_numpy_dtype))  # a packaged BiLM may be float16
    report.rows.append((f"model/encoder/{short}", "mapped", detail))
  for name in left or []:
    report.rows.append((name, "left", "initialisation"))
  return report


def initialise_tagger(tagger, words: vocab_lib.Vocabulary, chars: vocab_lib.Vocabulary,
                      source: BiLMSource) -> TransferReport:
  """Sets a tagger's encoder (and its frozen `bilm_encoder`, with `bilm_features`) from the
  BiLM; the projection, CRF and any top BiLSTM keep their initialisation.

  Args:
    tagger: a `models.tagger.Tagger` with its variables built.
    words, chars: the tagger's vocabularies (rows are matched by string).
  """
  report = transfer(tagger.encoder, words, chars, source,
                    left=[v.name for v in tagger.trainable_variables if "encoder" not in v.name])
  if tagger.config.bilm_features:  # the frozen copy: BiLM <unk> rows for words it lacks
    transfer(tagger.bilm_encoder, words, chars, source, fresh_as_unk=True)
    report.rows.append(("model/bilm_encoder/*", "mapped",
                        "frozen copy of the encoder rows; words the BiLM lacks: its <unk>"))
  return report
