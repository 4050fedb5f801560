"""The export's module rebuilt from an exported SavedModel (a shipped tagger in `checkpoints/`),
without the run directory it was exported from: its tagger config, vocabularies and weights.

The rebuilt module computes what the package computes (the same weights, the same word table
in the same storage dtype) and can take other `ExportConfig` options, e.g. `xla_max_tokens`
for `tools/profile_serving.py --package`.
"""
import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import ConfigError, TaggerConfig
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.serving import compact
from tf_bilm_ner.serving.export import TaggerModule
from tf_bilm_ner.serving.limits import ExportConfig
from tf_bilm_ner.training import checkpoints


class PackageError(UserError):
  """A directory that is not a SavedModel written by `serving/export.py`."""


def module_from_package(path: str, export_config: Optional[ExportConfig] = None,
                        loaded=None) -> TaggerModule:
  """The `TaggerModule` of the SavedModel at `path`, with `export_config` (default: the
  package's own, assets.extra/export_config.json). `loaded`: the SavedModel at `path`,
  already loaded (`tf.saved_model.load`), to take its weights from instead of loading it
  again."""
  extra = os.path.join(path, "assets.extra")
  try:
    tagger_config = TaggerConfig.load(os.path.join(extra, "tagger_config.json"))
    saved = ExportConfig.load(os.path.join(extra, "export_config.json"))
  except (OSError, ConfigError) as e:
    raise PackageError(f"{path}: not a tagger export ({e})") from None
  tagger = Tagger(tagger_config)
  checkpoints.build_variables(tagger)
  if saved.max_words or saved.embedding_dtype != "float32":  # as `export.export` stored it
    rows, dim = tagger_config.encoder.word_vocab_size, tagger_config.encoder.word_dim
    tagger.encoder.word_embedding = compact.StoredEmbedding(
        np.zeros([rows, dim], np.float32), saved.embedding_dtype)
  stored = list((loaded or tf.saved_model.load(path)).weights)
  mine = list(tagger.variables)
  if [(v.shape, v.dtype) for v in mine] != [(v.shape, v.dtype) for v in stored]:
    raise PackageError(f"{path}: its weights do not match its tagger_config.json")
  for v, w in zip(mine, stored):
    v.assign(w)
  config = dataclasses.replace(export_config or saved,
                               max_chars_per_token=saved.max_chars_per_token,
                               max_words=saved.max_words,
                               embedding_dtype=saved.embedding_dtype)
  config.validate()
  return TaggerModule(tagger, os.path.join(path, "assets"), config)
