"""The tagger's training step, optimiser and set-up checks (`tagger_loop.py` runs them)."""
import dataclasses
from typing import List, Sequence

import tensorflow as tf
from absl import logging

from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.evaluation import FEATURE_SIGNATURE
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import row_adam
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import surgery

TRAIN_SIGNATURE = dict(FEATURE_SIGNATURE, tag_ids=tf.TensorSpec([None, None], tf.int32))


class TrainingDataError(UserError):
  """Training and devel data that cannot be used together."""


def set_seed(seed: int) -> None:
  tf.keras.utils.set_random_seed(seed)


def make_train_step(tagger: Tagger, optimizer: tf.keras.optimizers.Optimizer,
                    jit_compile: bool = False, encoder_lr_scale=1.0,
                    frozen: Sequence[tf.Variable] = ()):
  """One traced optimisation step for every batch shape: batch -> scalar loss.

  With `encoder_lr_scale` != 1 each encoder update is scaled by it after the
  optimiser step: for Adam (an update linear in the learning rate) exactly a
  learning rate of learning_rate * encoder_lr_scale for the encoder, with one
  optimiser and so one checkpoint layout. A table that a `RowRestrictedAdam` updates only
  in some rows is rescaled in those rows only (the others did not move). A scalar
  `tf.Variable` scale is read at every step, so the caller may change it between epochs
  (0: the encoder frozen). Variables in `frozen` get no gradient and never move.
  """
  frozen_ids = {id(v) for v in frozen}
  trained = [v for v in tagger.trainable_variables if id(v) not in frozen_ids]
  scaling = isinstance(encoder_lr_scale, tf.Variable) or encoder_lr_scale != 1.0
  scaled = ([v for v in tagger.encoder.trainable_variables if id(v) not in frozen_ids]
            if scaling else [])
  rows = [optimizer.rows_of(v) if isinstance(optimizer, row_adam.RowRestrictedAdam) else None
          for v in scaled]

  @tf.function(input_signature=[TRAIN_SIGNATURE], jit_compile=jit_compile)
  def train_step(batch):
    with tf.GradientTape() as tape:
      loss = tagger.nll(batch, training=True)
    grads = tape.gradient(loss, trained)
    before = [v.read_value() if r is None else tf.gather(v, r)  # copy-on-write: kept as read
              for v, r in zip(scaled, rows)]
    optimizer.apply_gradients(zip(grads, trained))
    for v, r, old in zip(scaled, rows, before):
      if r is None:
        v.assign(old + encoder_lr_scale * (v - old))
      else:
        v.scatter_update(tf.IndexedSlices(old + encoder_lr_scale * (tf.gather(v, r) - old), r))
    return loss
  return train_step


def build_vocabs(train, source) -> run_dir_lib.Vocabs:
  """Train's vocabularies; with a BiLM, its words and characters added."""
  vocabs = run_dir_lib.Vocabs(*vocab_lib.build_vocabularies(
      [s.tokens for s in train], [s.tags for s in train]))
  if source:
    vocabs.words = surgery.extend(vocabs.words, source.words)
    vocabs.chars = surgery.extend(vocabs.chars, source.chars)
  return vocabs


def sized(config: TaggerConfig, vocabs: run_dir_lib.Vocabs) -> TaggerConfig:
  return dataclasses.replace(config, num_tags=len(vocabs.tags), encoder=dataclasses.replace(
      config.encoder, word_vocab_size=len(vocabs.words), char_vocab_size=len(vocabs.chars)))


def check_devel_tags(devel, vocabs: run_dir_lib.Vocabs) -> None:
  predictable = tag_scheme.iob2_tag_set(vocabs.tags.entries)
  unknown = sorted({t for s in devel for t in s.tags} - set(predictable))
  if unknown:
    raise TrainingDataError(f"devel tags {unknown} never occur in train (tags seen in train: "
                            f"{predictable}); the tagger could never predict them")


def frozen_variables(tagger: Tagger, config: TrainConfig) -> List[tf.Variable]:
  """The variables training leaves as they are (`TrainConfig.freeze_word_embeddings`)."""
  return [tagger.encoder.word_embedding.embeddings] if config.freeze_word_embeddings else []


def optimizer(tagger: Tagger, vocabs, train, config: TrainConfig):
  """Adam over the trained variables (not `frozen_variables`: no slots for them); with a
  BiLM's large vocabulary, updating only the word rows train reaches."""
  optimizer = row_adam.RowRestrictedAdam(config.learning_rate, global_clipnorm=config.clip_norm)
  frozen = {id(v) for v in frozen_variables(tagger, config)}
  optimizer.build([v for v in tagger.trainable_variables if id(v) not in frozen])
  table = tagger.encoder.word_embedding.embeddings
  if id(table) in frozen:
    return optimizer
  rows = row_adam.reachable_rows(vocabs.words, [s.tokens for s in train])
  if len(rows) <= len(vocabs.words) // 2:  # a BiLM's vocabulary: update only train's rows
    optimizer.restrict(table, rows)
    logging.info("word embedding: train reaches %d of its %d rows; Adam updates only those "
                 "(the others keep their values, as with full updates)", len(rows),
                 len(vocabs.words))
  return optimizer
