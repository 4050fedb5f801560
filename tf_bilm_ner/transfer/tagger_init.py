"""A tagger checkpoint initialised from a BiLM, for your own training code."""
import os
from typing import Optional

import tensorflow as tf
from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.config import EncoderConfig, TaggerConfig
from tf_bilm_ner.data import formats
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.errors import OutputExistsError
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import checkpoints, tagger_steps
from tf_bilm_ner.transfer import surgery


def write_tagger_init(bilm: str, train_path: str, output_dir: str,
                      tagger_config: Optional[TaggerConfig] = None,
                      overwrite: bool = False,
                      entity_type: str = DEFAULT_ENTITY_TYPE) -> surgery.TransferReport:
  """Writes `output_dir` with `vocab/`, `tagger_config.json`, `init/ckpt` and `transfer.json`.

  The vocabularies are `train_path`'s (any format `formats.read_labeled` reads; untyped tags
  as `entity_type`) extended with the BiLM's, as `train_tagger` builds them; the tagger has the BiLM's sizes (and the default dropout) unless `tagger_config`
  says otherwise. Raises OutputExistsError (a FileExistsError) if `output_dir` exists and not `overwrite`.
  """
  if os.path.exists(output_dir) and not overwrite:
    raise OutputExistsError(f"{output_dir} exists; pass overwrite to replace it")
  source = surgery.load_source(bilm)
  train = formats.read_labeled(train_path, entity_type)
  vocabs = tagger_steps.build_vocabs(train, source)
  config = tagger_config or TaggerConfig(
      encoder=surgery.sizes_from_bilm(EncoderConfig(), source.config.encoder))
  surgery.check_sizes(config.encoder, source)
  config = tagger_steps.sized(config, vocabs)
  tagger = Tagger(config)
  checkpoints.build_variables(tagger)
  report = surgery.initialise_tagger(tagger, vocabs.words, vocabs.chars, source)
  report.log()
  with files.atomic_directory(output_dir, overwrite=True) as tmp:
    vocabs.save(os.path.join(tmp, "vocab"))
    config.save(os.path.join(tmp, "tagger_config.json"))
    tf.train.Checkpoint(model=tagger).write(os.path.join(tmp, "init", "ckpt"))
    report.save(os.path.join(tmp, "transfer.json"), source)
  logging.info("wrote %s", output_dir)
  return report
