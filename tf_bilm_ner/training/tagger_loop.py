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

from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.data.labeled import Featurizer, LabeledData, split_long, subset
from tf_bilm_ner.evaluation import evaluate, make_decode_fn
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import precision
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.training import tagger_steps
from tf_bilm_ner.training.progress import Progress
from tf_bilm_ner.training.tagger_steps import TrainingDataError
from tf_bilm_ner.transfer import surgery

# The fine-tuning schedule for a BiLM-initialised encoder (its learning rate relative to the
# rest), chosen on NCBI-disease devel (results/README.md).
FINE_TUNE_ENCODER_LR_SCALE = 0.5


@dataclasses.dataclass
class TrainResult:
  best_epoch: int
  best_devel_f1: float  # -1: devel not scored (TrainConfig.train_on_devel)
  epochs_run: int
  stopped_early: bool
  run_dir: str


def train_tagger(train: Sequence[Sentence], devel: Sequence[Sentence], run_dir: str,
                 tagger_config: TaggerConfig, train_config: TrainConfig,
                 overwrite: bool = False, checkpoint_every_secs: float = 300.0,
                 vocabs: Optional[run_dir_lib.Vocabs] = None) -> TrainResult:
  """Trains (or resumes training of) a tagger into `run_dir`.

  Args:
    train, devel: labeled sentences.
    run_dir: see `run_dir.py` for its layout. Held by this process while it trains
      (another process gets a RunDirError).
    tagger_config: sizes; vocabulary-dependent sizes are filled in here.
    train_config: optimisation and stopping. With `train_on_devel`, devel is appended to
      train, every epoch up to `max_epochs` runs and devel is never scored (`best` is then
      the last epoch's model).
    overwrite: replace a run with another config in `run_dir`.
    checkpoint_every_secs: also checkpoint mid-epoch this often.
    vocabs: vocabularies to use instead of building them from `train`. When
      `train_config.init_from_bilm` is set and `vocabs` is None, the built word and
      character vocabularies are extended with the BiLM's (see `surgery.extend`).
  Returns:
    A TrainResult; `<run_dir>/best` holds the best checkpoint.
  """
  train_config.validate()
  if tagger_config.bilm_features and not train_config.init_from_bilm:
    raise TrainingDataError("bilm_features needs a BiLM to copy: give init_from_bilm")
  with run_dir_lib.hold(run_dir):
    resuming = run_dir_lib.prepare(
        run_dir, {"tagger_config.json": tagger_config, "train_config.json": train_config},
        overwrite)
    tagger_steps.set_seed(train_config.seed)
    if train_config.train_on_devel:  # the final-model protocol: devel is training data
      train = list(train) + list(devel)
    train = _train_sentences(train, train_config)
    run = _TaggerRun(run_dir, train_config, checkpoint_every_secs)
    source = run.set_up(train, devel, tagger_config, vocabs, resuming)
    if source:  # before the first checkpoint; a resumed run restores the transferred weights
      report = surgery.initialise_tagger(run.tagger, run.vocabs.words, run.vocabs.chars, source)
      report.log()
      report.save(os.path.join(run_dir, "transfer.json"), source)
    run.build_training(train, devel, resuming)
    while run.epoch() < train_config.max_epochs and not run.stopping():
      run.train_epoch()
    return run.finish()


def _train_sentences(train: Sequence[Sentence], config: TrainConfig) -> list:
  """The train subset, long sentences split, tags in the scheme the CRF learns."""
  train = split_long(subset(train, config.train_fraction, config.seed),
                     config.max_tokens_per_sentence)
  if config.tag_scheme != "iob2":  # IOB2 files are trained on as read
    train = [Sentence(s.tokens, tag_scheme.encode(s.tags, config.tag_scheme), s.line)
             for s in train]
  return train


class _TaggerRun:
  """One tagger run directory while it trains: model, optimiser, loop state, checkpoints.

  Checkpoint keys (a format: renaming one breaks resuming older runs): model, optimizer,
  epoch, batches_in_epoch, best_f1, best_epoch, bad_epochs, and epoch_loss_sum /
  epoch_loss_batches (the loss of an epoch's batches done before a mid-epoch checkpoint, so
  a resumed epoch's mean loss covers the whole epoch).
  """

  def __init__(self, run_dir: str, config: TrainConfig, checkpoint_every_secs: float):
    self.dir, self.config, self.every = run_dir, config, checkpoint_every_secs
    self.scored = not config.train_on_devel  # devel held out, scored each epoch
    self.paths = run_dir_lib.paths(run_dir)
    self.state = {k: tf.Variable(v, trainable=False, name=k) for k, v in dict(
        epoch=0, batches_in_epoch=0, best_f1=-1.0, best_epoch=-1, bad_epochs=0).items()}
    self.stats = {"epoch_loss_sum": tf.Variable(0.0, dtype=tf.float64, trainable=False),
                  "epoch_loss_batches": tf.Variable(0, dtype=tf.int64, trainable=False)}

  def set_up(self, train, devel, tagger_config: TaggerConfig, vocabs, resuming: bool):
    """Vocabularies and config (saved, or read back on resume) and the model.

    Returns:
      The BiLM source to initialise from, or None (no BiLM, or a resumed run).
    """
    source = None
    if self.config.init_from_bilm and not resuming:
      source = surgery.load_source(self.config.init_from_bilm)
      surgery.check_sizes(tagger_config.encoder, source)
    if resuming:
      vocabs = run_dir_lib.Vocabs.load(self.paths["vocab"])
      tagger_config = TaggerConfig.load(self.paths["tagger_config"])
    else:
      vocabs = vocabs or tagger_steps.build_vocabs(train, source)
      tagger_config = tagger_steps.sized(tagger_config, vocabs)
      vocabs.save(self.paths["vocab"])
      tagger_config.save(self.paths["tagger_config"])
      self.config.save(self.paths["train_config"])
    tagger_steps.check_devel_tags(devel, vocabs)
    self.vocabs = vocabs
    precision.warn_if_slow(self.config.precision)
    self.tagger = Tagger(tagger_config, dtype=precision.policy(self.config.precision))
    checkpoints.build_variables(self.tagger)
    self.tagger.use_hoisted_lstm(self.config.hoisted_lstm)
    return source

  def build_training(self, train, devel, resuming: bool) -> None:
    """Optimiser, checkpoints (restored when resuming), data, summaries, progress."""
    tagger, vocabs = self.tagger, self.vocabs
    self.featurizer = Featurizer(vocabs.words, vocabs.chars,
                                 tagger.config.encoder.max_chars_per_token)
    self.optimizer = tagger_steps.optimizer(tagger, vocabs, train, self.config)
    core = dict(model=tagger, optimizer=self.optimizer, **self.state)
    self.manager = tf.train.CheckpointManager(tf.train.Checkpoint(**core, **self.stats),
                                              self.paths["ckpt"], max_to_keep=2)
    self.best_manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=tagger),
                                                   self.paths["best"], max_to_keep=1)
    # Kept: 2 training checkpoints (+1 being written) and 1 best (+1); 16 MiB for the rest.
    checkpoints.check_free_space(
        self.dir, 3 * checkpoints.checkpoint_bytes([tagger, self.optimizer])
        + 2 * checkpoints.checkpoint_bytes([tagger]) + 2**24, "2 checkpoints and the best one")
    if resuming:
      self._restore(core)
    scale = self.config.encoder_lr_scale
    self.encoder_scale = (tf.Variable(scale, trainable=False, dtype=tf.float32)
                          if self.config.encoder_frozen_epochs else scale)
    self.train_step = tagger_steps.make_train_step(
        tagger, self.optimizer, encoder_lr_scale=self.encoder_scale,
        frozen=tagger_steps.frozen_variables(tagger, self.config))
    self.decode_fn = make_decode_fn(tagger)
    self.train_data = LabeledData(train, self.featurizer, vocabs.tags)
    self.devel, self.devel_data = devel, LabeledData(devel, self.featurizer, vocabs.tags,
                                                     with_labels=False)
    self.writers = {k: tf.summary.create_file_writer(os.path.join(self.paths["tensorboard"], k))
                    for k in ("train", "devel")}
    tokens_per_epoch = sum(len(s.tokens) for s in train)
    logging.info("training on %d sentences (%d tokens), devel %d sentences%s; %d word, %d char, "
                 "%d tag entries; %d parameters", len(train), tokens_per_epoch, len(devel),
                 "" if self.scored else " (among them: train_on_devel, not scored)",
                 len(vocabs.words), len(vocabs.chars), len(vocabs.tags),
                 sum(int(np.prod(v.shape)) for v in tagger.trainable_variables))
    self.progress = Progress(tokens_per_epoch, self.config.max_epochs - self.epoch())

  def _restore(self, core) -> None:
    checkpoints.restore(self.manager.latest_checkpoint, core, self.stats)
    s = self.state
    logging.info("resumed from %s at epoch %d, batch %d (best devel F1 %.2f at epoch %d)",
                 self.manager.latest_checkpoint, int(s["epoch"]), int(s["batches_in_epoch"]),
                 float(s["best_f1"]), int(s["best_epoch"]))
    run_dir_lib.rewrite_history(self.dir,
                                run_dir_lib.read_history(self.dir, int(s["epoch"]) - 1))

  def epoch(self) -> int:
    return int(self.state["epoch"])

  def stopping(self) -> bool:
    return self.scored and int(self.state["bad_epochs"]) >= self.config.patience

  def train_epoch(self) -> None:
    """Trains one epoch (from the checkpointed batch on), scores devel (unless it is
    training data), checkpoints."""
    epoch, config = self.epoch(), self.config
    self.optimizer.learning_rate.assign(config.learning_rate / (1.0 + config.lr_decay * epoch))
    if config.encoder_frozen_epochs:
      self.encoder_scale.assign(0.0 if epoch < config.encoder_frozen_epochs
                                else config.encoder_lr_scale)
    t0 = time.time()
    mean_loss, tokens = self._train_batches(epoch)
    train_secs = time.time() - t0
    record = dict(epoch=epoch, step=int(self.optimizer.iterations), loss=mean_loss,
                  train_tokens_per_sec=tokens / max(train_secs, 1e-9), train_secs=train_secs)
    per_type, scores = {}, ""
    if self.scored:
      micro, per_type, _ = evaluate(self.tagger, self.featurizer, self.vocabs.tags, self.devel,
                                    self.decode_fn, self.devel_data)
      record.update(devel_precision=micro.precision, devel_recall=micro.recall,
                    devel_f1=micro.f1, eval_secs=time.time() - t0 - train_secs)
      scores = f", devel P/R/F1 {micro.precision:.2f}/{micro.recall:.2f}/{micro.f1:.2f}"
    self._summaries(epoch, record, per_type)
    improved = self._end_epoch(epoch, record.get("devel_f1"))
    run_dir_lib.append_history(self.dir, record)
    logging.info("epoch %d: loss %.4f%s%s, %.0f tokens/s (train), %.1fs", epoch, record["loss"],
                 scores, " (best)" if improved and self.scored else "",
                 record["train_tokens_per_sec"], train_secs)

  def _train_batches(self, epoch: int):
    """-> (mean loss over the whole epoch, tokens this process trained on)."""
    skip = int(self.state["batches_in_epoch"])
    ds = self.train_data.batches(self.config.batch_tokens, shuffle=True,
                                 seed=self.config.seed * 1000 + epoch).skip(skip)
    last_save, tokens, losses = time.time(), 0, []
    first_step = int(self.optimizer.iterations)
    done_sum, done_batches = ((float(self.stats["epoch_loss_sum"]),
                               int(self.stats["epoch_loss_batches"])) if skip else (0.0, 0))
    for i, batch in enumerate(ds, start=skip):
      # Losses stay tensors until logged: reading one per step would stall async dispatch.
      losses.append(self.train_step({k: batch[k] for k in tagger_steps.TRAIN_SIGNATURE}))
      n = int(tf.reduce_sum(batch["lengths"]))
      tokens += n
      self.progress.update(n, epoch, first_step + i - skip + 1, losses[-1])
      if time.time() - last_save > self.every:
        self.state["batches_in_epoch"].assign(i + 1)
        self.stats["epoch_loss_sum"].assign(done_sum + sum(float(x) for x in losses))
        self.stats["epoch_loss_batches"].assign(done_batches + len(losses))
        checkpoints.save_checkpoint(self.manager, self.optimizer.iterations)
        last_save = time.time()
    batches = done_batches + len(losses)  # float() of each loss waits for its step
    mean = (done_sum + sum(float(x) for x in losses)) / batches if batches else 0.0
    return mean, tokens

  def _summaries(self, epoch: int, record: dict, per_type) -> None:
    with self.writers["train"].as_default(step=epoch):
      tf.summary.scalar("loss", record["loss"])
      tf.summary.scalar("tokens_per_sec", record["train_tokens_per_sec"])
      tf.summary.scalar("learning_rate", self.optimizer.learning_rate)
    if not self.scored:
      return
    with self.writers["devel"].as_default(step=epoch):
      for k in ("precision", "recall", "f1"):
        tf.summary.scalar(k, record[f"devel_{k}"])
      for t, s in per_type.items():
        tf.summary.scalar(f"f1/{t}", s.f1)

  def _end_epoch(self, epoch: int, f1: Optional[float]) -> bool:
    """Early-stopping bookkeeping and the end-of-epoch checkpoints; True if devel improved
    (f1 None: devel is not scored, and each epoch's model is the one kept)."""
    s = self.state
    improved = f1 is None or f1 > float(s["best_f1"])
    if improved:
      s["best_f1"].assign(-1.0 if f1 is None else f1)
      s["best_epoch"].assign(epoch)
      s["bad_epochs"].assign(0)
      checkpoints.save_checkpoint(self.best_manager, epoch)
    else:
      s["bad_epochs"].assign_add(1)
    s["epoch"].assign(epoch + 1)
    s["batches_in_epoch"].assign(0)
    self.stats["epoch_loss_sum"].assign(0.0)
    self.stats["epoch_loss_batches"].assign(0)
    checkpoints.save_checkpoint(self.manager, self.optimizer.iterations)
    return improved

  def finish(self) -> TrainResult:
    for w in self.writers.values():
      w.flush()
    s = self.state
    return TrainResult(int(s["best_epoch"]), float(s["best_f1"]), int(s["epoch"]),
                       self.stopping(), self.dir)


