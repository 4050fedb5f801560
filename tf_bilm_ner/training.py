"""The tagger training loop: early stopping on devel F1, checkpoints, summaries, progress.

Resume: the latest checkpoint in `<run_dir>/ckpt` holds the model, optimiser
slots, the epoch, the number of batches done in that epoch, the best devel F1
and the early-stopping counter. Each epoch's batch order depends only on
(seed, epoch), so a resumed run skips the batches already done and continues
with the very batches an uninterrupted run would have seen. Dropout masks are
not replayed. At most `checkpoint_every_secs` of work is lost.
"""
import dataclasses
import os
import time
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner import precision, row_adam, transfer
from tf_bilm_ner import run_dir as run_dir_lib
from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.data.labeled import Featurizer, LabeledData, split_long, subset
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.prediction import FEATURE_SIGNATURE, evaluate, make_decode_fn

TRAIN_SIGNATURE = dict(FEATURE_SIGNATURE, tag_ids=tf.TensorSpec([None, None], tf.int32))


# The fine-tuning schedule for a BiLM-initialised encoder (its learning rate relative to the
# rest), chosen on NCBI-disease devel (results/README.md).
FINE_TUNE_ENCODER_LR_SCALE = 0.5


class TrainingDataError(ValueError):
  """Training and devel data that cannot be used together."""


@dataclasses.dataclass
class TrainResult:
  best_epoch: int
  best_devel_f1: float
  epochs_run: int
  stopped_early: bool
  run_dir: str


def set_seed(seed: int) -> None:
  tf.keras.utils.set_random_seed(seed)


class Progress:
  """Logs steps, loss, tokens/s and ETA at most every `every_secs`."""

  def __init__(self, tokens_per_epoch: int, epochs_left: int, every_secs: float = 15.0):
    self.total = tokens_per_epoch * epochs_left
    self.done, self.start, self.last, self.every = 0, time.time(), 0.0, every_secs

  def update(self, tokens: int, epoch: int, step: int, loss: tf.Tensor) -> None:
    self.done += tokens
    now = time.time()
    if now - self.last < self.every:
      return
    self.last = now
    rate = self.done / max(now - self.start, 1e-9)
    if self.total > self.done:
      eta = (self.total - self.done) / max(rate, 1e-9)
      eta_text = f"ETA {int(eta // 3600)}h{int(eta % 3600 // 60):02d}m{int(eta % 60):02d}s"
    else:
      eta_text = "ETA unknown"
    logging.info("epoch %d step %d loss %.4f  %.0f tokens/s  %s (to the last epoch)",
                 epoch, step, float(loss), rate, eta_text)


def make_train_step(tagger: Tagger, optimizer: tf.keras.optimizers.Optimizer,
                    jit_compile: bool = False, encoder_lr_scale: float = 1.0):
  """One traced optimisation step for every batch shape: batch -> scalar loss.

  With `encoder_lr_scale` != 1 each encoder update is scaled by it after the
  optimiser step: for Adam (an update linear in the learning rate) exactly a
  learning rate of learning_rate * encoder_lr_scale for the encoder, with one
  optimiser and so one checkpoint layout. A table that a `RowRestrictedAdam` updates only
  in some rows is rescaled in those rows only (the others did not move).
  """
  scaled = tagger.encoder.trainable_variables if encoder_lr_scale != 1.0 else []
  rows = [optimizer.rows_of(v) if isinstance(optimizer, row_adam.RowRestrictedAdam) else None
          for v in scaled]

  @tf.function(input_signature=[TRAIN_SIGNATURE], jit_compile=jit_compile)
  def train_step(batch):
    with tf.GradientTape() as tape:
      loss = tagger.loss(batch, training=True)
    grads = tape.gradient(loss, tagger.trainable_variables)
    before = [v.read_value() if r is None else tf.gather(v, r)  # copy-on-write: kept as read
              for v, r in zip(scaled, rows)]
    optimizer.apply_gradients(zip(grads, tagger.trainable_variables))
    for v, r, old in zip(scaled, rows, before):
      if r is None:
        v.assign(old + encoder_lr_scale * (v - old))
      else:
        v.scatter_update(tf.IndexedSlices(old + encoder_lr_scale * (tf.gather(v, r) - old), r))
    return loss
  return train_step


def train_tagger(train: Sequence[Sentence], devel: Sequence[Sentence], run_dir: str,
                 tagger_config: TaggerConfig, train_config: TrainConfig,
                 overwrite: bool = False, checkpoint_every_secs: float = 300.0,
                 vocabs: Optional[run_dir_lib.Vocabs] = None) -> TrainResult:
  """Trains (or resumes training of) a tagger into `run_dir`.

  Args:
    train, devel: labeled sentences.
    run_dir: see `run_dir.py` for its layout.
    tagger_config: sizes; vocabulary-dependent sizes are filled in here.
    train_config: optimisation and stopping.
    overwrite: replace a run with another config in `run_dir`.
    checkpoint_every_secs: also checkpoint mid-epoch this often.
    vocabs: vocabularies to use instead of building them from `train`. When
      `train_config.init_from_bilm` is set and `vocabs` is None, the built word and
      character vocabularies are extended with the BiLM's (see `transfer.extend`).
  Returns:
    A TrainResult; `<run_dir>/best` holds the best checkpoint.
  """
  train_config.validate()
  resuming = run_dir_lib.prepare(
      run_dir, {"tagger_config.json": tagger_config, "train_config.json": train_config}, overwrite)
  p = run_dir_lib.paths(run_dir)
  set_seed(train_config.seed)
  train = split_long(subset(train, train_config.train_fraction, train_config.seed),
                     train_config.max_tokens_per_sentence)
  if train_config.tag_scheme != "iob2":  # IOB2 files are trained on as read
    train = [Sentence(s.tokens, tag_scheme.encode(s.tags, train_config.tag_scheme), s.line)
             for s in train]
  if tagger_config.bilm_features and not train_config.init_from_bilm:
    raise TrainingDataError("bilm_features needs a BiLM to copy: give init_from_bilm")
  source = None
  if train_config.init_from_bilm and not resuming:
    source = transfer.load_source(train_config.init_from_bilm)
    transfer.check_sizes(tagger_config.encoder, source)
  if resuming:
    vocabs = run_dir_lib.Vocabs.load(p["vocab"])
    tagger_config = TaggerConfig.load(p["tagger_config"])
  else:
    if vocabs is None:
      vocabs = run_dir_lib.Vocabs(*vocab_lib.build_vocabularies(
          [s.tokens for s in train], [s.tags for s in train]))
      if source:
        vocabs.words = transfer.extend(vocabs.words, source.words)
        vocabs.chars = transfer.extend(vocabs.chars, source.chars)
    tagger_config = dataclasses.replace(tagger_config, num_tags=len(vocabs.tags), encoder=
                                        dataclasses.replace(tagger_config.encoder,
                                                            word_vocab_size=len(vocabs.words),
                                                            char_vocab_size=len(vocabs.chars)))
    vocabs.save(p["vocab"])
    tagger_config.save(p["tagger_config"])
    train_config.save(p["train_config"])
  predictable = tag_scheme.iob2_tag_set(vocabs.tags.entries)
  unknown = sorted({t for s in devel for t in s.tags} - set(predictable))
  if unknown:
    raise TrainingDataError(f"devel tags {unknown} never occur in train (tags seen in train: "
                            f"{predictable}); the tagger could never predict them")

  tagger = Tagger(tagger_config, dtype=precision.policy(train_config.precision))
  run_dir_lib.build_variables(tagger)
  if source:  # before the first checkpoint; a resumed run restores the transferred weights
    report = transfer.transfer(tagger.encoder, vocabs.words, vocabs.chars, source,
                               left=[v.name for v in tagger.trainable_variables
                                     if "encoder" not in v.name])
    if tagger_config.bilm_features:  # the frozen copy: BiLM <unk> rows for words it lacks
      transfer.transfer(tagger.bilm_encoder, vocabs.words, vocabs.chars, source,
                        fresh_as_unk=True)
      report.rows.append(("model/bilm_encoder/*", "mapped",
                          "frozen copy of the encoder rows; words the BiLM lacks: its <unk>"))
    report.log()
    report.save(os.path.join(run_dir, "transfer.json"), source)
  featurizer = Featurizer(vocabs.words, vocabs.chars, tagger_config.encoder.max_chars_per_token)
  optimizer = row_adam.RowRestrictedAdam(train_config.learning_rate,
                                         global_clipnorm=train_config.clip_norm)
  optimizer.build(tagger.trainable_variables)
  rows = row_adam.reachable_rows(vocabs.words, [s.tokens for s in train])
  if len(rows) <= len(vocabs.words) // 2:  # a BiLM's vocabulary: update only train's rows
    optimizer.restrict(tagger.encoder.word_embedding.embeddings, rows)
    logging.info("word embedding: train reaches %d of its %d rows; Adam updates only those "
                 "(the others keep their values, as with full updates)", len(rows),
                 len(vocabs.words))
  state = {k: tf.Variable(v, trainable=False, name=k) for k, v in dict(
      epoch=0, batches_in_epoch=0, best_f1=-1.0, best_epoch=-1, bad_epochs=0).items()}
  # Loss over the batches of the epoch done before a mid-epoch checkpoint, so a resumed
  # epoch's mean loss covers the whole epoch.
  stats = {"epoch_loss_sum": tf.Variable(0.0, dtype=tf.float64, trainable=False),
           "epoch_loss_batches": tf.Variable(0, dtype=tf.int64, trainable=False)}
  core = dict(model=tagger, optimizer=optimizer, **state)
  ckpt = tf.train.Checkpoint(**core, **stats)
  manager = tf.train.CheckpointManager(ckpt, p["ckpt"], max_to_keep=2)
  best_manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=tagger), p["best"],
                                            max_to_keep=1)
  # Kept: 2 training checkpoints (+1 being written) and 1 best (+1); 16 MiB for the rest.
  run_dir_lib.check_free_space(
      run_dir, 3 * run_dir_lib.checkpoint_bytes([tagger, optimizer])
      + 2 * run_dir_lib.checkpoint_bytes([tagger]) + 2**24, "2 checkpoints and the best one")
  if resuming:
    run_dir_lib.restore(manager.latest_checkpoint, core, stats)
    logging.info("resumed from %s at epoch %d, batch %d (best devel F1 %.2f at epoch %d)",
                 manager.latest_checkpoint, int(state["epoch"]), int(state["batches_in_epoch"]),
                 float(state["best_f1"]), int(state["best_epoch"]))
    run_dir_lib.rewrite_history(run_dir, run_dir_lib.read_history(run_dir, int(state["epoch"]) - 1))

  train_step = make_train_step(tagger, optimizer,
                               encoder_lr_scale=train_config.encoder_lr_scale)
  decode_fn = make_decode_fn(tagger)
  train_data = LabeledData(train, featurizer, vocabs.tags)
  devel_data = LabeledData(devel, featurizer, vocabs.tags, with_labels=False)
  writer_train = tf.summary.create_file_writer(os.path.join(p["tensorboard"], "train"))
  writer_devel = tf.summary.create_file_writer(os.path.join(p["tensorboard"], "devel"))
  tokens_per_epoch = sum(len(s.tokens) for s in train)
  logging.info("training on %d sentences (%d tokens), devel %d sentences; %d word, %d char, "
               "%d tag entries; %d parameters", len(train), tokens_per_epoch, len(devel),
               len(vocabs.words), len(vocabs.chars), len(vocabs.tags),
               sum(int(np.prod(v.shape)) for v in tagger.trainable_variables))
  start_epoch = int(state["epoch"])
  progress = Progress(tokens_per_epoch, train_config.max_epochs - start_epoch)
  stopped_early = False
  for epoch in range(start_epoch, train_config.max_epochs):
    if int(state["bad_epochs"]) >= train_config.patience:
      stopped_early = True
      break
    state["epoch"].assign(epoch)
    optimizer.learning_rate.assign(
        train_config.learning_rate / (1.0 + train_config.lr_decay * epoch))
    skip = int(state["batches_in_epoch"])
    ds = train_data.batches(train_config.batch_tokens, shuffle=True,
                            seed=train_config.seed * 1000 + epoch).skip(skip)
    t0, last_save, epoch_tokens, losses = time.time(), time.time(), 0, []
    first_step = int(optimizer.iterations)
    done_sum, done_batches = ((float(stats["epoch_loss_sum"]), int(stats["epoch_loss_batches"]))
                              if skip else (0.0, 0))
    for i, batch in enumerate(ds, start=skip):
      # Losses stay tensors until logged: reading one per step would stall async dispatch.
      losses.append(train_step({k: batch[k] for k in TRAIN_SIGNATURE}))
      n = int(tf.reduce_sum(batch["lengths"]))
      epoch_tokens += n
      progress.update(n, epoch, first_step + i - skip + 1, losses[-1])
      if time.time() - last_save > checkpoint_every_secs:
        state["batches_in_epoch"].assign(i + 1)
        stats["epoch_loss_sum"].assign(done_sum + sum(float(x) for x in losses))
        stats["epoch_loss_batches"].assign(done_batches + len(losses))
        run_dir_lib.save_checkpoint(manager, optimizer.iterations)
        last_save = time.time()
    batches = done_batches + len(losses)  # float() of each loss waits for its step
    mean_loss = (done_sum + sum(float(x) for x in losses)) / batches if batches else 0.0
    train_secs = time.time() - t0
    micro, per_type, _ = evaluate(tagger, featurizer, vocabs.tags, devel, decode_fn, devel_data)
    record = dict(epoch=epoch, step=int(optimizer.iterations),
                  loss=mean_loss,
                  devel_precision=micro.precision, devel_recall=micro.recall, devel_f1=micro.f1,
                  train_tokens_per_sec=epoch_tokens / max(train_secs, 1e-9),
                  train_secs=train_secs, eval_secs=time.time() - t0 - train_secs)
    with writer_train.as_default(step=epoch):
      tf.summary.scalar("loss", record["loss"])
      tf.summary.scalar("tokens_per_sec", record["train_tokens_per_sec"])
      tf.summary.scalar("learning_rate", optimizer.learning_rate)
    with writer_devel.as_default(step=epoch):
      for k in ("precision", "recall", "f1"):
        tf.summary.scalar(k, record[f"devel_{k}"])
      for t, s in per_type.items():
        tf.summary.scalar(f"f1/{t}", s.f1)
    improved = micro.f1 > float(state["best_f1"])
    if improved:
      state["best_f1"].assign(micro.f1)
      state["best_epoch"].assign(epoch)
      state["bad_epochs"].assign(0)
      run_dir_lib.save_checkpoint(best_manager, epoch)
    else:
      state["bad_epochs"].assign_add(1)
    state["epoch"].assign(epoch + 1)
    state["batches_in_epoch"].assign(0)
    stats["epoch_loss_sum"].assign(0.0)
    stats["epoch_loss_batches"].assign(0)
    run_dir_lib.save_checkpoint(manager, optimizer.iterations)
    run_dir_lib.append_history(run_dir, record)
    logging.info("epoch %d: loss %.4f, devel P/R/F1 %.2f/%.2f/%.2f%s, %.0f tokens/s (train), "
                 "%.1fs", epoch, record["loss"], micro.precision, micro.recall, micro.f1,
                 " (best)" if improved else "", record["train_tokens_per_sec"], train_secs)
  else:
    stopped_early = int(state["bad_epochs"]) >= train_config.patience
  writer_train.flush()
  writer_devel.flush()
  return TrainResult(int(state["best_epoch"]), float(state["best_f1"]), int(state["epoch"]),
                     stopped_early, run_dir)
