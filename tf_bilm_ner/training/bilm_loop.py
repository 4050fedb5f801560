"""BiLM pretraining on streamed shards, under any tf.distribute strategy.

Run directory:
  bilm_config.json, bilm_train_config.json   how to rebuild and how it was trained
  vocab/words.txt, vocab/chars.txt           the LM vocabularies (transfer reads them)
  ckpt/                                      model, optimiser, epoch, batches done in it
  tensorboard/train, tensorboard/valid       per epoch: sampled loss, tokens/s, full-softmax
                                             perplexity per direction; every 100 steps:
                                             sampled loss and tokens/s by step
  history.jsonl                              one JSON line per epoch

Resume: each epoch's file order and line shuffle depend only on (seed, epoch),
so a resumed run skips the batches its checkpoint says were done and sees
the same batches an uninterrupted run would have (for a fixed number of
workers). Sampled-softmax negatives and dropout masks are not replayed.
"""
import contextlib
import dataclasses
import os
import time
from typing import List, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.training import bilm_steps, checkpoints, distribute, lazy_adam, precision
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.training.progress import Progress
from tf_bilm_ner.transfer import warm_start

SUMMARY_EVERY_STEPS = 100  # TensorBoard train curves by optimiser step, between epoch summaries


def load_vocabs(run_dir: str):
  d = os.path.join(run_dir, "vocab")
  return (vocab_lib.Vocabulary.load(os.path.join(d, "words.txt"), reserved=LM_RESERVED),
          vocab_lib.Vocabulary.load(os.path.join(d, "chars.txt")))


@dataclasses.dataclass
class Pretrained:
  """What `train_bilm` returns: one row per finished epoch, and the trained model."""
  history: List[dict]
  model: BiLM


def train_bilm(train_pattern: str, valid_pattern: str, run_dir: str, config: BiLMConfig,
               train_config: BiLMTrainConfig, vocabs=None, tokens_per_epoch: int = 0,
               strategy: Optional[tf.distribute.Strategy] = None, overwrite: bool = False,
               checkpoint_every_secs: float = 300.0, max_steps: int = 0,
               steps_per_epoch: int = 0, report: Optional[dict] = None) -> Pretrained:
  """Pretrains (or resumes) a BiLM.

  Args:
    train_pattern, valid_pattern: globs of shards (tools/shard_corpus.py).
    run_dir: see the module docstring. With several workers it must be one
      directory all of them see (a shared file system); only the chief writes it, and holds
      it (`run_dir.hold`) while it trains.
    config: sizes; vocabulary sizes are filled in here.
    train_config: optimisation.
    vocabs: (words, chars) from `lm_vocab.build_lm_vocabularies`; ignored on resume.
    tokens_per_epoch: for the ETA (the shard manifest has it); 0 if unknown.
    strategy: a tf.distribute strategy; the default one if None.
    overwrite: replace a run with another config in `run_dir`.
    checkpoint_every_secs: also checkpoint mid-epoch this often (the chief's clock
      decides for all workers).
    max_steps: if > 0, stop once the optimiser has taken this many steps (checkpointed
      mid-epoch, so rerunning with a larger limit or none continues from there).
    steps_per_epoch: 0: an epoch is one pass over the training shards. N: an epoch
      is N steps, each worker cycling over its share of the files; required with
      several workers, whose shares differ in size (uneven steps would hang the
      all-reduce).
    report: if given, written to report.json (`write_report`) once the run directory is
      set up, so a run stopped before its end still says what it was trained on.
  Returns:
    `Pretrained`: the history rows (one per epoch) and the model.
  Raises:
    corpus.CorpusError: no data, or workers that disagree on vocabulary or config.
  """
  strategy = strategy or tf.distribute.get_strategy()
  workers = distribute.num_workers(strategy)
  if workers > 1 and not steps_per_epoch:
    raise corpus.CorpusError(f"{workers} workers need a fixed steps_per_epoch")
  chief = distribute.is_chief(strategy)
  with run_dir_lib.hold(run_dir) if chief else contextlib.nullcontext():
    run = _BiLMRun(run_dir, train_config, strategy, checkpoint_every_secs)
    resuming = run.set_up(config, vocabs, overwrite)
    run.start(resuming, report, tokens_per_epoch // workers)
    for epoch in range(run.epoch(), train_config.epochs):
      if not run.train_epoch(epoch, train_pattern, valid_pattern, max_steps, steps_per_epoch):
        break
    return run.finish()


class _BiLMRun:
  """A BiLM run directory while it trains: model, optimiser, loop state, checkpoints.

  Checkpoint keys (a format): model, optimizer, epoch, batches_in_epoch, and what the epoch
  did before a mid-epoch checkpoint (epoch_loss_forward, epoch_loss_backward,
  epoch_batches, epoch_tokens), so a resumed epoch's row covers it all.
  """

  def __init__(self, run_dir: str, config: BiLMTrainConfig, strategy, checkpoint_every_secs):
    self.dir, self.config, self.strategy, self.every = run_dir, config, strategy, \
        checkpoint_every_secs
    self.chief = distribute.is_chief(strategy)
    # Loop bookkeeping lives outside the strategy: plain variables, not mirrored ones.
    self.epoch_var = tf.Variable(0, trainable=False, name="epoch")
    self.batches_var = tf.Variable(0, trainable=False, name="batches_in_epoch")
    self.stats = {k: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=k)
                  for k in ("epoch_loss_forward", "epoch_loss_backward", "epoch_batches",
                            "epoch_tokens")}

  def set_up(self, config: BiLMConfig, vocabs, overwrite: bool) -> bool:
    """Run directory, vocabularies, model, optimiser, checkpoint manager; True if resuming."""
    config, words, chars, resuming = _prepare(self.dir, config, self.config, vocabs, overwrite,
                                              self.strategy)
    if not distribute.all_agree(self.strategy, "\n".join(words.entries + chars.entries)
                                + config.to_json()):
      raise corpus.CorpusError("the workers' vocabularies or configs differ; build them from "
                               "the same shards with the same seed, or resume from the chief's")
    tf.keras.utils.set_random_seed(self.config.seed)
    self.words, self.chars = words, chars
    self.featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
    precision.warn_if_slow(self.config.precision)
    with self.strategy.scope():
      self.bilm = bilm_steps.build_bilm(config, self.config.precision, self.config.unique_chars,
                                        self.config.hoisted_lstm)
      self.optimizer = lazy_adam.make(self.config.optimizer, self.config.learning_rate,
                                      self.config.clip_norm)
      self.optimizer.build(self.bilm.trainable_variables)
    self.core = dict(model=self.bilm, optimizer=self.optimizer, epoch=self.epoch_var,
                     batches_in_epoch=self.batches_var)
    ckpt = tf.train.Checkpoint(**self.core, **self.stats)
    self.ckpt_dir = os.path.join(self.dir, "ckpt")
    self.write_dir = distribute.scratch_dir(self.ckpt_dir, self.strategy)
    self.manager = tf.train.CheckpointManager(ckpt, self.write_dir, max_to_keep=2)
    if self.chief:  # 2 checkpoints kept (+1 being written); 64 MiB for TensorBoard and history
      checkpoints.check_free_space(
          self.dir, 3 * checkpoints.checkpoint_bytes([self.bilm, self.optimizer]) + 2**26,
          "2 checkpoints")
    return resuming

  def start(self, resuming: bool, report: Optional[dict], tokens_per_epoch: int) -> None:
    """Restores (or warm-starts) the weights; history, report, summaries, progress."""
    latest = tf.train.latest_checkpoint(self.ckpt_dir) if resuming else None
    if latest:
      checkpoints.restore(latest, self.core, self.stats)
      logging.info("resumed from %s at epoch %d, batch %d", latest, self.epoch(),
                   int(self.batches_var))
    elif self.config.init_from_bilm:  # a resumed run has the warm-started weights already
      self._warm_start()
    replicas = self.strategy.num_replicas_in_sync
    self.per_replica_tokens = max(self.config.max_tokens_per_line,
                                  self.config.batch_tokens // replicas)
    self.train_step = bilm_steps.make_train_step(self.bilm, self.optimizer, self.strategy)
    self.softmax_step = bilm_steps.make_train_step(self.bilm, self.optimizer, self.strategy,
                                                   softmax_only=True)
    self.writers = {k: tf.summary.create_file_writer(os.path.join(self.dir, "tensorboard", k))
                    if self.chief else tf.summary.create_noop_writer()
                    for k in ("train", "valid")}
    self.history = run_dir_lib.read_history(self.dir, self.epoch() - 1)
    if self.chief:
      run_dir_lib.rewrite_history(self.dir, self.history)
      if report is not None:
        run_dir_lib.write_report(self.dir, dict(report, history=self.history), finished=False)
    self.progress = Progress(tokens_per_epoch, self.config.epochs - self.epoch())
    logging.info("BiLM: %d words, %d chars, %d parameters, %d replica(s) on %d worker(s)",
                 len(self.words), len(self.chars),
                 sum(int(np.prod(v.shape)) for v in self.bilm.trainable_variables), replicas,
                 distribute.num_workers(self.strategy))

  def _warm_start(self) -> None:
    warm_start.warm_start(self.bilm, self.config.init_from_bilm,
                          fresh_softmax_ok=self.config.softmax_warmup_steps > 0)
    if self.config.init_position:
      epoch, batch = warm_start.source_position(self.config.init_from_bilm)
      self.epoch_var.assign(epoch)
      self.batches_var.assign(batch)
      logging.info("starting at epoch %d, batch %d, where the source stopped", epoch, batch)

  def epoch(self) -> int:
    return int(self.epoch_var)

  def save(self) -> None:
    checkpoints.save_checkpoint(self.manager)
    if not self.chief:
      tf.io.gfile.rmtree(self.write_dir)

  def train_epoch(self, epoch: int, train_pattern: str, valid_pattern: str, max_steps: int,
                  steps_per_epoch: int) -> bool:
    """Trains epoch `epoch` from the checkpointed batch on, then scores validation.

    Returns False when training is to stop (`max_steps` reached).
    """
    self.epoch_var.assign(epoch)
    skip = int(self.batches_var)
    steps_before = int(self.optimizer.iterations.numpy()) - skip
    if max_steps and steps_before + skip >= max_steps:
      return False
    data = _epoch_data(self.strategy, train_pattern, self.featurizer, self.config,
                       self.per_replica_tokens, self.config.seed * 1000 + epoch, skip,
                       steps_per_epoch)
    t0 = time.time()
    sums, tokens, stop = self._train_batches(epoch, data, skip, steps_before, max_steps)
    row = bilm_steps.epoch_row(self.bilm, epoch, self.optimizer, sums, tokens, time.time() - t0,
                     valid_pattern, self.featurizer)
    bilm_steps.epoch_summaries(self.writers, epoch, row)
    if stop:
      row["stopped_at_max_steps"] = True
      logging.info("stopped at max_steps=%d in epoch %d: valid perplexity forward %.1f "
                   "backward %.1f", max_steps, epoch, row["valid_perplexity_forward"],
                   row["valid_perplexity_backward"])
      self.history.append(row)  # not in history.jsonl: the epoch is not finished
      return False
    self.epoch_var.assign(epoch + 1)
    self.batches_var.assign(0)
    for v in self.stats.values():
      v.assign(0.0)
    self.save()
    if self.chief:
      run_dir_lib.append_history(self.dir, row)
    self.history.append(row)
    logging.info("epoch %d: valid perplexity forward %.1f backward %.1f; %.0f tokens/s",
                 epoch, row["valid_perplexity_forward"], row["valid_perplexity_backward"],
                 row["tokens_per_sec"])
    return True

  def _train_batches(self, epoch, data, skip, steps_before, max_steps):
    """-> (the epoch's sums so far, tokens this process trained on, stopped at max_steps)."""
    last_save, tokens, losses, stop = time.time(), 0, [], False
    done = {k: float(v) if skip else 0.0 for k, v in self.stats.items()}
    t0 = time.time()
    warmup = self.config.softmax_warmup_steps
    for i, batch in enumerate(data, start=skip):
      step = self.softmax_step if steps_before + i < warmup else self.train_step
      if warmup and steps_before + i == warmup:
        logging.info("softmax warm-up done after %d steps: the encoder trains from here", warmup)
      losses.append(step(batch))
      lengths = self.strategy.experimental_local_results(batch["lengths"])
      n = int(sum(int(tf.reduce_sum(x)) for x in lengths))
      tokens += n
      self.progress.update(n, epoch, int(i) + 1, losses[-1][0])
      if (i + 1) % SUMMARY_EVERY_STEPS == 0:  # long runs: curves between epochs
        with self.writers["train"].as_default(step=steps_before + i + 1):
          tf.summary.scalar("steps/sampled_loss_forward", losses[-1][0])
          tf.summary.scalar("steps/sampled_loss_backward", losses[-1][1])
          tf.summary.scalar("steps/tokens_per_sec", tokens / max(time.time() - t0, 1e-9))
      stop = bool(max_steps) and steps_before + i + 1 >= max_steps  # no per-step variable read
      due = self.chief and time.time() - last_save > self.every
      if stop or distribute.any_worker(self.strategy, due):
        self.batches_var.assign(i + 1)
        for k, v in bilm_steps.epoch_sums(done, losses, tokens).items():
          self.stats[k].assign(v)
        self.save()
        last_save = time.time()
      if stop:
        break
    return bilm_steps.epoch_sums(done, losses, tokens), tokens, stop

  def finish(self) -> Pretrained:
    for w in self.writers.values():
      w.flush()
    return Pretrained(self.history, self.bilm)


def _prepare(run_dir: str, config: BiLMConfig, train_config: BiLMTrainConfig, vocabs,
             overwrite: bool, strategy: tf.distribute.Strategy):
  """Sets up (chief) or reads (other workers) the run directory.

  Returns:
    (config, words, chars, resuming).

  Only the chief writes. Another worker uses the saved vocabularies and config if
  the chief's checkpoint exists, else the `vocabs` it was given (built from the
  same shards with the same seed); `train_bilm` then checks that all agree.
  """
  if distribute.is_chief(strategy):
    names = {"bilm_config.json": config, "bilm_train_config.json": train_config}
    resuming = run_dir_lib.prepare(run_dir, names, overwrite,
                                   outputs=("ckpt", "vocab", "tensorboard", "history.jsonl",
                                            "report.json"))
  else:
    resuming = tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt")) is not None
  if resuming:
    words, chars = load_vocabs(run_dir)
    return BiLMConfig.load(os.path.join(run_dir, "bilm_config.json")), words, chars, True
  if vocabs is None:
    raise corpus.CorpusError(f"{run_dir}: no run to resume and no vocabularies given")
  words, chars = vocabs
  config = bilm_steps.sized(config, words, chars)
  if distribute.is_chief(strategy):
    os.makedirs(os.path.join(run_dir, "vocab"), exist_ok=True)
    words.save(os.path.join(run_dir, "vocab", "words.txt"))
    chars.save(os.path.join(run_dir, "vocab", "chars.txt"))
    config.save(os.path.join(run_dir, "bilm_config.json"))
    train_config.save(os.path.join(run_dir, "bilm_train_config.json"))
  return config, words, chars, False


def _epoch_data(strategy, train_pattern, featurizer, train_config, per_replica_tokens, seed,
                skip, steps_per_epoch):
  """This epoch's distributed batches, from batch `skip` on."""
  def make(ctx):
    ds = corpus.lm_dataset(train_pattern, featurizer, per_replica_tokens, seed,
                           shuffle_buffer=train_config.shuffle_buffer,
                           max_tokens_per_line=train_config.max_tokens_per_line,
                           input_context=ctx)
    if steps_per_epoch:  # every worker takes the same number of steps, cycling its files
      ds = ds.repeat().take(steps_per_epoch)
    return ds.skip(skip)
  return strategy.distribute_datasets_from_function(make)
