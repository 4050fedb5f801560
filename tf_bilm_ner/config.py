"""Typed configuration objects, strict about unknown keys, saved as JSON.

Every checkpoint directory and every export carries `config.json`, so a set of
weights is never separated from how to rebuild the model that owns them.
"""
import dataclasses
import json
from typing import Any, Dict, Type, TypeVar

from tf_bilm_ner import files
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.errors import UserError

PRECISIONS = ("float32", "mixed_bfloat16")  # precision.py
OPTIMIZERS = ("adam", "lazy_adam")          # lazy_adam.py

T = TypeVar("T")


class ConfigError(UserError):
  """A config file or dict that does not describe a valid configuration."""


def _from_dict(cls: Type[T], values: Dict[str, Any], where: str) -> T:
  if not isinstance(values, dict):
    raise ConfigError(f"{where}: expected a JSON object, got {type(values).__name__}")
  fields = {f.name: f for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - set(fields))
  if unknown:
    raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(fields)}")
  kwargs = {}
  for name, value in values.items():
    sub = fields[name].type
    if dataclasses.is_dataclass(sub):
      value = _from_dict(sub, value, f"{where}.{name}")
    kwargs[name] = value
  obj = cls(**kwargs)
  try:
    obj.validate()
  except ConfigError as e:
    if where == cls.__name__:
      raise
    raise ConfigError(f"{where}: {e}") from None
  return obj


# Exact JSON types per field type: no bool for a number, no float for an int, no number
# for a string (a path) or a bool.
_TYPE_CHECKS = {
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    float: (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    str: (lambda v: isinstance(v, str), "a string"),
    bool: (lambda v: isinstance(v, bool), "true or false"),
}


class _Config:
  """Mixin: strict dict/JSON round trip plus validation."""

  def validate(self) -> None:
    for f in dataclasses.fields(self):
      value = getattr(self, f.name)
      if dataclasses.is_dataclass(value):
        value.validate()
      elif f.type in _TYPE_CHECKS and not _TYPE_CHECKS[f.type][0](value):
        raise ConfigError(f"{type(self).__name__}.{f.name}: expected {_TYPE_CHECKS[f.type][1]}, "
                          f"got {value!r}")

  def to_dict(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: Dict[str, Any]):
    return _from_dict(cls, values, cls.__name__)

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str, where: str = "<string>"):
    try:
      values = json.loads(text)
    except json.JSONDecodeError as e:
      raise ConfigError(f"{where}:{e.lineno}: not valid JSON ({e.msg})") from None
    return _from_dict(cls, values, where)

  def save(self, path: str) -> None:
    """Writes JSON atomically (temporary file, then rename)."""
    files.write_text_atomic(path, self.to_json() + "\n")

  @classmethod
  def load(cls, path: str):
    try:
      with open(path, encoding="utf-8") as f:
        text = f.read()
    except FileNotFoundError:
      raise ConfigError(f"{path}: config file not found") from None
    return cls.from_json(text, where=path)


def _check_choice(config, name: str, choices) -> None:
  if getattr(config, name) not in choices:
    raise ConfigError(f"{type(config).__name__}.{name} must be one of {choices}, got "
                      f"{getattr(config, name)!r}")


@dataclasses.dataclass
class EncoderConfig(_Config):
  """The part the BiLM and the tagger share: embeddings, CharCNN, LSTMs."""
  word_vocab_size: int = 0        # set from the vocabulary
  char_vocab_size: int = 0        # set from the vocabulary
  word_dim: int = 100
  char_dim: int = 32
  char_filters: int = 64
  char_kernel_size: int = 3
  max_chars_per_token: int = 32   # longer tokens keep their first characters
  lstm_units: int = 200           # per direction
  dropout: float = 0.5
  word_dropout: float = 0.1       # training: replace a word id by <unk> with this probability

  def validate(self) -> None:
    super().validate()
    for name in ("word_dim", "char_dim", "char_filters", "char_kernel_size",
                 "max_chars_per_token", "lstm_units"):
      if getattr(self, name) <= 0:
        raise ConfigError(f"EncoderConfig.{name} must be positive, got {getattr(self, name)}")
    for name in ("dropout", "word_dropout"):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ConfigError(f"EncoderConfig.{name} must be in [0, 1), got {getattr(self, name)}")


@dataclasses.dataclass
class TaggerConfig(_Config):
  """Encoder plus the tag projection and CRF."""
  encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
  num_tags: int = 0               # set from the tag vocabulary
  bilm_features: bool = False     # also feed a frozen copy of the BiLM's states (TagLM style;
                                  # needs init_from_bilm)
  top_lstm_units: int = 0         # > 0: a BiLSTM of this size per direction over the encoder
                                  # (and BiLM feature) states, before the projection

  def validate(self) -> None:
    super().validate()
    if self.top_lstm_units < 0:
      raise ConfigError(f"TaggerConfig.top_lstm_units must be >= 0, got {self.top_lstm_units}")


@dataclasses.dataclass
class TrainConfig(_Config):
  """How a tagger is trained. Saved beside every checkpoint."""
  learning_rate: float = 2e-3
  lr_decay: float = 0.0           # epoch e uses learning_rate / (1 + lr_decay * e)
  clip_norm: float = 5.0          # global gradient norm
  batch_tokens: int = 1024        # token budget per batch (padded positions count)
  max_epochs: int = 40
  patience: int = 6               # epochs without devel F1 gain before stopping
  seed: int = 1
  train_fraction: float = 1.0     # deterministic subset of train sentences
  max_tokens_per_sentence: int = 256
  init_from_bilm: str = ""        # a BiLM directory or checkpoint prefix; "" = random init
  encoder_lr_scale: float = 1.0   # the encoder learns at learning_rate * this (fine-tuning)
  encoder_frozen_epochs: int = 0  # the encoder stays as initialised for the first N epochs
                                  # while the layers above it learn (gradual unfreezing)
  freeze_word_embeddings: bool = False  # with init_from_bilm: the word vectors keep the BiLM's
                                  # values, so words seen in train stay in the space of the
                                  # words only test has
  tag_scheme: str = "iob2"        # the tags the CRF is trained on: "iob2" or "iobes"
                                  # (data/tag_scheme.py; predictions are IOB2 either way)
  precision: str = "float32"      # or "mixed_bfloat16" (precision.py)
  hoisted_lstm: bool = False      # the LSTMs train as layers/hoisted.py runs them (input
                                  # projections out of the loop, hand-written gradient): the
                                  # same sums within float32 rounding, faster on CPU
  train_on_devel: bool = False    # train on train + devel for exactly max_epochs, no early
                                  # stopping, devel not scored: the final-model protocol of
                                  # BioBERT and much BioNLP work, with max_epochs chosen on
                                  # devel by a train-only run first

  def validate(self) -> None:
    super().validate()
    if not 0.0 < self.train_fraction <= 1.0:
      raise ConfigError(f"TrainConfig.train_fraction must be in (0, 1], got {self.train_fraction}")
    if self.train_on_devel and self.train_fraction < 1.0:
      raise ConfigError("TrainConfig.train_on_devel trains on all of train and devel; "
                        f"train_fraction must be 1, got {self.train_fraction}")
    if self.encoder_lr_scale < 0:
      raise ConfigError(f"TrainConfig.encoder_lr_scale must be >= 0, got {self.encoder_lr_scale}")
    if self.lr_decay < 0:
      raise ConfigError(f"TrainConfig.lr_decay must be >= 0, got {self.lr_decay}")
    if self.freeze_word_embeddings and not self.init_from_bilm:
      raise ConfigError("TrainConfig.freeze_word_embeddings keeps the BiLM's word vectors: it "
                        "needs init_from_bilm")
    if self.encoder_frozen_epochs < 0:
      raise ConfigError("TrainConfig.encoder_frozen_epochs must be >= 0, got "
                        f"{self.encoder_frozen_epochs}")
    _check_choice(self, "precision", PRECISIONS)
    if self.tag_scheme not in tag_scheme.SCHEMES:
      raise ConfigError(f"TrainConfig.tag_scheme must be one of {tag_scheme.SCHEMES}, got "
                        f"{self.tag_scheme!r}")
    for name in ("learning_rate", "batch_tokens", "max_epochs", "max_tokens_per_sentence"):
      if getattr(self, name) <= 0:
        raise ConfigError(f"TrainConfig.{name} must be positive, got {getattr(self, name)}")
    if self.batch_tokens < self.max_tokens_per_sentence:
      raise ConfigError(
          f"TrainConfig.batch_tokens ({self.batch_tokens}) must be at least "
          f"max_tokens_per_sentence ({self.max_tokens_per_sentence})")


@dataclasses.dataclass
class BiLMConfig(_Config):
  """The bidirectional LM: the tagger's encoder plus one softmax shared by both directions."""
  encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
  num_sampled: int = 1024         # negative samples per batch (results/README.md: per second
                                  # of training, 1024 with 4096-token batches beats 512 with 8192)

  def validate(self) -> None:
    super().validate()
    if self.num_sampled < 1:
      raise ConfigError(f"BiLMConfig.num_sampled must be positive, got {self.num_sampled}")


@dataclasses.dataclass
class BiLMTrainConfig(_Config):
  """How a BiLM is pretrained. Saved beside every checkpoint."""
  learning_rate: float = 2e-3
  clip_norm: float = 5.0
  batch_tokens: int = 4096        # global token budget per step, split across replicas
  epochs: int = 1
  seed: int = 1
  shuffle_buffer: int = 10000     # lines
  max_tokens_per_line: int = 256
  precision: str = "float32"      # or "mixed_bfloat16" (precision.py)
  optimizer: str = "adam"         # or "lazy_adam": sparse rows only (lazy_adam.py)
  init_from_bilm: str = ""        # continue pretraining from this BiLM (weights only; its
                                  # vocabularies and sizes); "" = random initialisation
  init_position: bool = False     # with init_from_bilm: start at the epoch and batch where
                                  # the source stopped (same shards and seed: the rest of its pass)
  unique_chars: bool = False      # the CharCNN runs once per distinct token of a batch: same
                                  # values, faster (gradient sums in another order)
  hoisted_lstm: bool = False      # both LSTMs as `layers/hoisted.py` runs them: input projections
                                  # out of the loop, hand-written gradient; same sums, faster
  softmax_warmup_steps: int = 0   # with init_from_bilm: the first N optimiser steps train the
                                  # softmax alone (encoder frozen); a source without a softmax
                                  # (a shipped package) needs N > 0, its softmax starting random

  def validate(self) -> None:
    super().validate()
    _check_choice(self, "precision", PRECISIONS)
    _check_choice(self, "optimizer", OPTIMIZERS)
    for name in ("learning_rate", "batch_tokens", "epochs", "shuffle_buffer",
                 "max_tokens_per_line"):
      if getattr(self, name) <= 0:
        raise ConfigError(f"BiLMTrainConfig.{name} must be positive, got {getattr(self, name)}")
    if self.softmax_warmup_steps < 0 or (self.softmax_warmup_steps and not self.init_from_bilm):
      raise ConfigError("BiLMTrainConfig.softmax_warmup_steps must be >= 0, and needs "
                        f"init_from_bilm; got {self.softmax_warmup_steps}")
