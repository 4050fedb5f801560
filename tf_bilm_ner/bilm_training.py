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
import dataclasses
import json
import math
import os
import time
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner import distribute, files, lazy_adam, precision, transfer
from tf_bilm_ner import run_dir as run_dir_lib
from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.training import Progress

EVAL_BATCH_TOKENS = 1024
SUMMARY_EVERY_STEPS = 100  # TensorBoard train curves by optimiser step, between epoch summaries
LM_SIGNATURE = {
    "token_ids": tf.TensorSpec([None, None], tf.int32),
    "char_ids": tf.TensorSpec([None, None, None], tf.int32),
    "lengths": tf.TensorSpec([None], tf.int32),
    "forward_targets": tf.TensorSpec([None, None], tf.int32),
    "backward_targets": tf.TensorSpec([None, None], tf.int32),
}


def load_vocabs(run_dir: str):
  d = os.path.join(run_dir, "vocab")
  return (vocab_lib.Vocabulary.load(os.path.join(d, "words.txt"), reserved=LM_RESERVED),
          vocab_lib.Vocabulary.load(os.path.join(d, "chars.txt")))


def build_bilm(config: BiLMConfig, precision_name: str = "float32") -> BiLM:
  """A BiLM with its variables created, computing in `precision_name` (`precision.py`)."""
  bilm = BiLM(config, dtype=precision.policy(precision_name))
  zeros = tf.zeros([1, 2], tf.int32)
  bilm.full_nll({"token_ids": zeros, "char_ids": tf.zeros([1, 2, 3], tf.int32),
                 "lengths": tf.constant([2]), "forward_targets": zeros,
                 "backward_targets": zeros})
  return bilm


def warm_start(bilm: BiLM, path: str) -> None:
  """Sets every weight of `bilm` (encoder and softmax) from the BiLM at `path`.

  `path`: a train_bilm run directory, a checkpoint prefix, or a package made with
  `include_softmax` (float16 weights are cast). Sizes and vocabularies must be the source's.
  Raises:
    transfer.TransferError: unreadable source, other sizes, or no softmax in it.
  """
  source = transfer.load_source(path)
  transfer.check_sizes(bilm.config.encoder, source, this="this run",
                       names=("word_vocab_size", "char_vocab_size") + transfer.SHARED_SIZES)
  reader = tf.train.load_checkpoint(source.checkpoint)
  variables = {f"encoder/{k}": get(bilm.encoder) for k, get in transfer.ENCODER_VARIABLES.items()}
  variables.update(softmax_weights=bilm.softmax_weights, softmax_biases=bilm.softmax_biases)
  for name, var in variables.items():
    key = f"model/{name}{transfer.SUFFIX}"
    if not reader.has_tensor(key):
      raise transfer.TransferError(
          f"{source.checkpoint}: has no {name}; continuing pretraining needs the softmax "
          "(package the BiLM with --include_softmax, or use its train_bilm run directory)")
    var.assign(tf.cast(reader.get_tensor(key), var.dtype))
  logging.info("pretraining continues from %s (%d variables; the optimiser starts afresh)",
               source.checkpoint, len(variables))


POSITION_KEYS = ("epoch", "batches_in_epoch")  # train_bilm's position in its data, checkpointed


def checkpoint_position(reader) -> Dict[str, int]:
  """{"epoch", "batches_in_epoch"} of a train_bilm checkpoint (a `tf.train.load_checkpoint`
  reader; {} for a checkpoint without them)."""
  return {k: int(reader.get_tensor(f"{k}{transfer.SUFFIX}")) for k in POSITION_KEYS
          if reader.has_tensor(f"{k}{transfer.SUFFIX}")}


def source_position(path: str):
  """(epoch, batches done in it) where the BiLM at `path` stopped training: its checkpoint's
  loop state, or for a package its manifest's `source_position`."""
  source = transfer.load_source(path)
  manifest = os.path.join(source.directory, "manifest.json")
  if os.path.exists(manifest):
    with open(manifest, encoding="utf-8") as f:
      position = json.load(f).get("source_position") or {}
  else:
    position = checkpoint_position(tf.train.load_checkpoint(source.checkpoint))
  if set(position) != set(POSITION_KEYS):
    raise transfer.TransferError(f"{path}: does not say where its training stopped")
  return position["epoch"], position["batches_in_epoch"]


def perplexity(bilm: BiLM, dataset: tf.data.Dataset) -> Dict[str, float]:
  """Full-softmax perplexity per direction over one pass of `dataset`."""
  nll = tf.function(bilm.full_nll, input_signature=[LM_SIGNATURE])  # one trace for all shapes
  sums = {"forward": 0.0, "backward": 0.0, "tokens": 0.0}
  for batch in dataset:
    for k, v in nll(batch).items():
      sums[k] += float(v)
  if not sums["tokens"]:
    raise corpus.CorpusError("the validation shards hold no tokens")
  return {k: math.exp(sums[k] / sums["tokens"]) for k in ("forward", "backward")}


def make_train_step(bilm: BiLM, optimizer: tf.keras.optimizers.Optimizer,
                    strategy: tf.distribute.Strategy):
  """A traced step on one (distributed) batch -> mean sampled losses (forward, backward).

  Each replica's loss is divided by the number of replicas, since the strategy
  sums gradients across replicas.
  """
  replicas = strategy.num_replicas_in_sync

  def replica_step(batch):
    with tf.GradientTape() as tape:
      losses = bilm.sampled_loss(batch, training=True)
      loss = 0.5 * (losses["forward"] + losses["backward"]) / replicas
    grads = tape.gradient(loss, bilm.trainable_variables)
    optimizer.apply_gradients(zip(grads, bilm.trainable_variables))
    return losses["forward"], losses["backward"]

  @tf.function(reduce_retracing=True)
  def train_step(batch):
    fwd, bwd = strategy.run(replica_step, args=(batch,))
    mean = lambda x: strategy.reduce(tf.distribute.ReduceOp.MEAN, x, axis=None)
    return mean(fwd), mean(bwd)

  return train_step


@dataclasses.dataclass
class Pretrained:
  """What `train_bilm` returns: one row per finished epoch, and the trained model."""
  history: List[dict]
  model: BiLM


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
  config = dataclasses.replace(config, encoder=dataclasses.replace(
      config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)))
  if distribute.is_chief(strategy):
    os.makedirs(os.path.join(run_dir, "vocab"), exist_ok=True)
    words.save(os.path.join(run_dir, "vocab", "words.txt"))
    chars.save(os.path.join(run_dir, "vocab", "chars.txt"))
    config.save(os.path.join(run_dir, "bilm_config.json"))
    train_config.save(os.path.join(run_dir, "bilm_train_config.json"))
  return config, words, chars, False


def write_report(run_dir: str, report: dict, finished: bool) -> None:
  """Writes `<run_dir>/report.json`: `report` (shards manifest, provenance, history), whether
  training finished, and `starts`, the provenance of every process that trained this run
  (a run resumed across several sessions lists each)."""
  path = os.path.join(run_dir, "report.json")
  old = {}
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      old = json.load(f)
  starts = old.get("starts", [])
  if not finished:
    starts = starts + [report["provenance"]]
  files.write_json_atomic(path, {**old, **report, "starts": starts, "finished": finished})


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


def train_bilm(train_pattern: str, valid_pattern: str, run_dir: str, config: BiLMConfig,
               train_config: BiLMTrainConfig, vocabs=None, tokens_per_epoch: int = 0,
               strategy: Optional[tf.distribute.Strategy] = None, overwrite: bool = False,
               checkpoint_every_secs: float = 300.0, max_steps: int = 0,
               steps_per_epoch: int = 0, report: Optional[dict] = None) -> Pretrained:
  """Pretrains (or resumes) a BiLM.

  Args:
    train_pattern, valid_pattern: globs of shards (tools/shard_corpus.py).
    run_dir: see the module docstring. With several workers it must be one
      directory all of them see (a shared file system); only the chief writes it.
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
  workers, chief = distribute.num_workers(strategy), distribute.is_chief(strategy)
  if workers > 1 and not steps_per_epoch:
    raise corpus.CorpusError(f"{workers} workers need a fixed steps_per_epoch")
  config, words, chars, resuming = _prepare(run_dir, config, train_config, vocabs, overwrite, strategy)
  if not distribute.all_agree(strategy, "\n".join(words.entries + chars.entries) + config.to_json()):
    raise corpus.CorpusError("the workers' vocabularies or configs differ; build them from "
                             "the same shards with the same seed, or resume from the chief's")
  tf.keras.utils.set_random_seed(train_config.seed)
  featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
  with strategy.scope():
    bilm = build_bilm(config, train_config.precision)
    optimizer = lazy_adam.make(train_config.optimizer, train_config.learning_rate,
                               train_config.clip_norm)
    optimizer.build(bilm.trainable_variables)
  # Loop bookkeeping lives outside the strategy: plain variables, not mirrored ones.
  epoch_var = tf.Variable(0, trainable=False, name="epoch")
  batches_var = tf.Variable(0, trainable=False, name="batches_in_epoch")
  # What the epoch did before a mid-epoch checkpoint, so a resumed epoch's row covers it all.
  stats = {k: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=k)
           for k in ("epoch_loss_forward", "epoch_loss_backward", "epoch_batches", "epoch_tokens")}
  core = dict(model=bilm, optimizer=optimizer, epoch=epoch_var, batches_in_epoch=batches_var)
  ckpt = tf.train.Checkpoint(**core, **stats)
  ckpt_dir = os.path.join(run_dir, "ckpt")
  write_dir = distribute.scratch_dir(ckpt_dir, strategy)
  manager = tf.train.CheckpointManager(ckpt, write_dir, max_to_keep=2)

  if chief:  # 2 checkpoints kept (+1 being written); 64 MiB for TensorBoard and history
    run_dir_lib.check_free_space(
        run_dir, 3 * run_dir_lib.checkpoint_bytes([bilm, optimizer]) + 2**26, "2 checkpoints")

  def save():
    run_dir_lib.save_checkpoint(manager)
    if not chief:
      tf.io.gfile.rmtree(write_dir)

  latest = tf.train.latest_checkpoint(ckpt_dir) if resuming else None
  if latest:
    run_dir_lib.restore(latest, core, stats)
    logging.info("resumed from %s at epoch %d, batch %d", latest, int(epoch_var),
                 int(batches_var))
  elif train_config.init_from_bilm:  # a resumed run has the warm-started weights already
    warm_start(bilm, train_config.init_from_bilm)
    if train_config.init_position:
      epoch, batch = source_position(train_config.init_from_bilm)
      epoch_var.assign(epoch)
      batches_var.assign(batch)
      logging.info("starting at epoch %d, batch %d, where the source stopped", epoch, batch)
  replicas = strategy.num_replicas_in_sync
  per_replica_tokens = max(train_config.max_tokens_per_line, train_config.batch_tokens // replicas)
  train_step = make_train_step(bilm, optimizer, strategy)

  writers = {k: tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard", k))
             if chief else tf.summary.create_noop_writer() for k in ("train", "valid")}
  history = run_dir_lib.read_history(run_dir, int(epoch_var) - 1)
  if chief:
    run_dir_lib.rewrite_history(run_dir, history)
    if report is not None:
      write_report(run_dir, dict(report, history=history), finished=False)
  progress = Progress(tokens_per_epoch // workers, train_config.epochs - int(epoch_var))
  logging.info("BiLM: %d words, %d chars, %d parameters, %d replica(s) on %d worker(s)",
               len(words), len(chars),
               sum(int(np.prod(v.shape)) for v in bilm.trainable_variables), replicas, workers)
  for epoch in range(int(epoch_var), train_config.epochs):
    epoch_var.assign(epoch)
    skip = int(batches_var)
    data = _epoch_data(strategy, train_pattern, featurizer, train_config, per_replica_tokens,
                       train_config.seed * 1000 + epoch, skip, steps_per_epoch)
    t0, last_save, tokens, losses, stop = time.time(), time.time(), 0, [], False
    done = {k: float(v) if skip else 0.0 for k, v in stats.items()}
    steps_before = int(optimizer.iterations.numpy()) - skip
    if max_steps and steps_before + skip >= max_steps:
      break
    for i, batch in enumerate(data, start=skip):
      losses.append(train_step(batch))
      lengths = strategy.experimental_local_results(batch["lengths"])
      n = int(sum(int(tf.reduce_sum(x)) for x in lengths))
      tokens += n
      progress.update(n, epoch, int(i) + 1, losses[-1][0])
      if (i + 1) % SUMMARY_EVERY_STEPS == 0:  # long runs: curves between epochs
        with writers["train"].as_default(step=steps_before + i + 1):
          tf.summary.scalar("steps/sampled_loss_forward", losses[-1][0])
          tf.summary.scalar("steps/sampled_loss_backward", losses[-1][1])
          tf.summary.scalar("steps/tokens_per_sec", tokens / max(time.time() - t0, 1e-9))
      stop = bool(max_steps) and steps_before + i + 1 >= max_steps  # no per-step variable read
      due = chief and time.time() - last_save > checkpoint_every_secs
      if stop or distribute.any_worker(strategy, due):
        batches_var.assign(i + 1)
        for k, v in _epoch_sums(done, losses, tokens).items():
          stats[k].assign(v)
        save()
        last_save = time.time()
      if stop:
        break
    row = _epoch_row(bilm, epoch, optimizer, _epoch_sums(done, losses, tokens), tokens,
                     time.time() - t0, valid_pattern, featurizer)
    _summaries(writers, epoch, row)
    if stop:
      row["stopped_at_max_steps"] = True
      logging.info("stopped at max_steps=%d in epoch %d: valid perplexity forward %.1f "
                   "backward %.1f", max_steps, epoch, row["valid_perplexity_forward"],
                   row["valid_perplexity_backward"])
      history.append(row)  # not in history.jsonl: the epoch is not finished
      break
    epoch_var.assign(epoch + 1)
    batches_var.assign(0)
    for v in stats.values():
      v.assign(0.0)
    save()
    if chief:
      run_dir_lib.append_history(run_dir, row)
    history.append(row)
    logging.info("epoch %d: valid perplexity forward %.1f backward %.1f; %.0f tokens/s",
                 epoch, row["valid_perplexity_forward"], row["valid_perplexity_backward"],
                 row["tokens_per_sec"])
  for w in writers.values():
    w.flush()
  return Pretrained(history, bilm)


def _epoch_sums(done: Dict[str, float], losses: list, tokens: int) -> Dict[str, float]:
  """The epoch so far: what the checkpoint had (`done`) plus this process's steps."""
  return {"epoch_loss_forward": done["epoch_loss_forward"] + sum(float(f) for f, _ in losses),
          "epoch_loss_backward": done["epoch_loss_backward"] + sum(float(b) for _, b in losses),
          "epoch_batches": done["epoch_batches"] + len(losses),
          "epoch_tokens": done["epoch_tokens"] + tokens}


def _epoch_row(bilm, epoch, optimizer, sums, tokens, secs, valid_pattern, featurizer):
  """The history row of an epoch: mean train losses, full-softmax valid perplexity, speed.

  `tokens` and the losses in the row cover the whole epoch (a resumed one too) on this
  worker; `tokens_per_sec` and `train_secs` are this process's part of it.
  """
  batches = sums["epoch_batches"]
  mean = lambda k: sums[k] / batches if batches else float("nan")
  # Full-softmax logits are [tokens, vocabulary] floats: 1024 tokens x 50k words = 200 MB.
  # (8192-token batches peaked at 5.4 GB RSS in the first full-corpus run.)
  ppl = perplexity(bilm, corpus.lm_dataset(valid_pattern, featurizer, EVAL_BATCH_TOKENS, seed=0,
                                           shuffle=False))
  return dict(epoch=epoch, step=int(optimizer.iterations.numpy()),
              tokens=int(sums["epoch_tokens"]),
              train_sampled_loss_forward=mean("epoch_loss_forward"),
              train_sampled_loss_backward=mean("epoch_loss_backward"),
              valid_perplexity_forward=ppl["forward"], valid_perplexity_backward=ppl["backward"],
              tokens_per_sec=tokens / max(secs, 1e-9), train_secs=secs)


def _summaries(writers, epoch, row):
  with writers["train"].as_default(step=epoch):
    tf.summary.scalar("sampled_loss/forward", row["train_sampled_loss_forward"])
    tf.summary.scalar("sampled_loss/backward", row["train_sampled_loss_backward"])
    tf.summary.scalar("tokens_per_sec", row["tokens_per_sec"])
  with writers["valid"].as_default(step=epoch):
    tf.summary.scalar("perplexity/forward", row["valid_perplexity_forward"])
    tf.summary.scalar("perplexity/backward", row["valid_perplexity_backward"])
