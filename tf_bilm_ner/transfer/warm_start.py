"""Continuing pretraining from a BiLM: all its weights, and where in its data it stopped."""
import json
import os
from typing import Dict

import tensorflow as tf
from absl import logging

from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.transfer import surgery

SOFTMAX_KEY = f"model/softmax_weights{surgery.SUFFIX}"  # in a BiLM checkpoint that has it


def warm_start(bilm: BiLM, path: str, fresh_softmax_ok: bool = False) -> None:
  """Sets every weight of `bilm` (encoder and softmax) from the BiLM at `path`.

  `path`: a train_bilm run directory, a checkpoint prefix, or a package (float16 weights are
  cast). Sizes and vocabularies must be the source's. A source without the softmax (a package
  made without `include_softmax`, as shipped) is refused unless `fresh_softmax_ok`: then only
  the encoder is set and the softmax keeps its random initialisation (the caller trains it
  first with the encoder frozen: `BiLMTrainConfig.softmax_warmup_steps`).
  Raises:
    surgery.TransferError: unreadable source, other sizes, or no softmax in it.
  """
  source = surgery.load_source(path)
  surgery.check_sizes(bilm.config.encoder, source, this="this run",
                       names=("word_vocab_size", "char_vocab_size") + surgery.SHARED_SIZES)
  reader = tf.train.load_checkpoint(source.checkpoint)
  variables = {f"encoder/{k}": get(bilm.encoder) for k, get in surgery.ENCODER_VARIABLES.items()}
  with_softmax = reader.has_tensor(SOFTMAX_KEY)
  if with_softmax or not fresh_softmax_ok:
    variables.update(softmax_weights=bilm.softmax_weights, softmax_biases=bilm.softmax_biases)
  for name, var in variables.items():
    key = f"model/{name}{surgery.SUFFIX}"
    if not reader.has_tensor(key):
      raise surgery.TransferError(
          f"{source.checkpoint}: has no {name}; continuing pretraining needs the softmax "
          "(package the BiLM with --include_softmax, or use its train_bilm run directory), "
          "or --softmax_warmup_steps to fit a new one first")
    var.assign(tf.cast(reader.get_tensor(key), var.dtype))
  logging.info("pretraining continues from %s (%d variables%s; the optimiser starts afresh)",
               source.checkpoint, len(variables),
               "" if with_softmax else "; no softmax in it: a new one, trained alone first")


def has_softmax(checkpoint: str) -> bool:
  """Whether a BiLM checkpoint (`surgery.load_source(path).checkpoint`) holds its softmax: a
  train_bilm run's does, a package's only if made with `include_softmax` (the shipped ones
  are not)."""
  return tf.train.load_checkpoint(checkpoint).has_tensor(SOFTMAX_KEY)


POSITION_KEYS = ("epoch", "batches_in_epoch")  # train_bilm's position in its data, checkpointed


def checkpoint_position(reader) -> Dict[str, int]:
  """{"epoch", "batches_in_epoch"} of a train_bilm checkpoint (a `tf.train.load_checkpoint`
  reader; {} for a checkpoint without them)."""
  return {k: int(reader.get_tensor(f"{k}{surgery.SUFFIX}")) for k in POSITION_KEYS
          if reader.has_tensor(f"{k}{surgery.SUFFIX}")}


def source_position(path: str):
  """(epoch, batches done in it) where the BiLM at `path` stopped training: its checkpoint's
  loop state, or for a package its manifest's `source_position`."""
  source = surgery.load_source(path)
  manifest = os.path.join(source.directory, "manifest.json")
  if os.path.exists(manifest):
    with open(manifest, encoding="utf-8") as f:
      position = json.load(f).get("source_position") or {}
  else:
    position = checkpoint_position(tf.train.load_checkpoint(source.checkpoint))
  if set(position) != set(POSITION_KEYS):
    raise surgery.TransferError(f"{path}: does not say where its training stopped")
  return position["epoch"], position["batches_in_epoch"]
