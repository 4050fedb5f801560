"""BiLM pretraining on streamed shards, under any tf.distribute strategy.

Run directory:
  bilm_config.json, bilm_train_config.json   how to rebuild and how it was trained
  vocab/words.txt, vocab/chars.txt           the LM vocabularies (transfer reads them)
  ckpt/                                      model, optimiser, epoch, batches done in it
  tensorboard/train, tensorboard/valid       loss, tokens/s; perplexity per direction
  history.jsonl                              one JSON line per epoch

Resume: each epoch's file order and line shuffle depend only on (seed, epoch),
so a resumed run skips the batches its checkpoint says were done and sees
the same batches an uninterrupted run would have (for a fixed number of
workers). Sampled-softmax negatives and dropout masks are not replayed.
"""
import dataclasses
import math
import os
import time
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tf_bilm_ner import run_dir as run_dir_lib
from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.training import Progress

EVAL_BATCH_TOKENS = 1024
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


def build_bilm(config: BiLMConfig) -> BiLM:
  """A BiLM with its variables created."""
  bilm = BiLM(config)
  zeros = tf.zeros([1, 2], tf.int32)
  bilm.full_nll({"token_ids": zeros, "char_ids": tf.zeros([1, 2, 3], tf.int32),
                 "lengths": tf.constant([2]), "forward_targets": zeros,
                 "backward_targets": zeros})
  return bilm


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


def train_bilm(train_pattern: str, valid_pattern: str, run_dir: str, config: BiLMConfig,
               train_config: BiLMTrainConfig, vocabs=None, tokens_per_epoch: int = 0,
               strategy: Optional[tf.distribute.Strategy] = None, overwrite: bool = False,
               checkpoint_every_secs: float = 300.0, max_steps: int = 0) -> list:
  """Pretrains (or resumes) a BiLM; returns the history rows (one per epoch).

  Args:
    train_pattern, valid_pattern: globs of shards (tools/shard_corpus.py).
    run_dir: see the module docstring.
    config: sizes; vocabulary sizes are filled in here.
    train_config: optimisation.
    vocabs: (words, chars) from `lm_vocab.build_lm_vocabularies`; ignored on resume.
    tokens_per_epoch: for the ETA (the shard manifest has it); 0 if unknown.
    strategy: a tf.distribute strategy; the default one if None.
    overwrite: replace a run with another config in `run_dir`.
    checkpoint_every_secs: also checkpoint mid-epoch this often.
    max_steps: if > 0, stop once the optimiser has taken this many steps (checkpointed
      mid-epoch, so rerunning with a larger limit or none continues from there).
  """
  strategy = strategy or tf.distribute.get_strategy()
  names = {"bilm_config.json": config, "bilm_train_config.json": train_config}
  resuming = run_dir_lib.prepare(run_dir, names, overwrite,
                                 outputs=("ckpt", "vocab", "tensorboard", "history.jsonl"))
  if resuming:
    words, chars = load_vocabs(run_dir)
    config = BiLMConfig.load(os.path.join(run_dir, "bilm_config.json"))
  else:
    words, chars = vocabs
    config = dataclasses.replace(config, encoder=dataclasses.replace(
        config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)))
    os.makedirs(os.path.join(run_dir, "vocab"), exist_ok=True)
    words.save(os.path.join(run_dir, "vocab", "words.txt"))
    chars.save(os.path.join(run_dir, "vocab", "chars.txt"))
    config.save(os.path.join(run_dir, "bilm_config.json"))
    train_config.save(os.path.join(run_dir, "bilm_train_config.json"))
  tf.keras.utils.set_random_seed(train_config.seed)
  featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
  with strategy.scope():
    bilm = build_bilm(config)
    optimizer = tf.keras.optimizers.Adam(train_config.learning_rate,
                                         global_clipnorm=train_config.clip_norm)
    optimizer.build(bilm.trainable_variables)
  # Loop bookkeeping lives outside the strategy: plain variables, not mirrored ones.
  epoch_var = tf.Variable(0, trainable=False, name="epoch")
  batches_var = tf.Variable(0, trainable=False, name="batches_in_epoch")
  ckpt = tf.train.Checkpoint(model=bilm, optimizer=optimizer, epoch=epoch_var,
                             batches_in_epoch=batches_var)
  manager = tf.train.CheckpointManager(ckpt, os.path.join(run_dir, "ckpt"), max_to_keep=2)
  if resuming:
    ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    logging.info("resumed from %s at epoch %d, batch %d", manager.latest_checkpoint,
                 int(epoch_var), int(batches_var))
  replicas = strategy.num_replicas_in_sync
  per_replica_tokens = max(train_config.max_tokens_per_line, train_config.batch_tokens // replicas)

  train_step = make_train_step(bilm, optimizer, strategy)

  writers = {k: tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard", k))
             for k in ("train", "valid")}
  history = run_dir_lib.read_history(run_dir, int(epoch_var) - 1)
  run_dir_lib.rewrite_history(run_dir, history)
  progress = Progress(tokens_per_epoch, train_config.epochs - int(epoch_var))
  logging.info("BiLM: %d words, %d chars, %d parameters, %d replica(s)", len(words), len(chars),
               sum(int(np.prod(v.shape)) for v in bilm.trainable_variables), replicas)
  for epoch in range(int(epoch_var), train_config.epochs):
    epoch_var.assign(epoch)
    skip = int(batches_var)
    seed = train_config.seed * 1000 + epoch
    data = strategy.distribute_datasets_from_function(lambda ctx, seed=seed, skip=skip: (
        corpus.lm_dataset(train_pattern, featurizer, per_replica_tokens, seed,
                          shuffle_buffer=train_config.shuffle_buffer,
                          max_tokens_per_line=train_config.max_tokens_per_line,
                          input_context=ctx).skip(skip)))
    t0, last_save, tokens, losses, stop = time.time(), time.time(), 0, [], False
    steps_before = int(optimizer.iterations.numpy()) - skip
    if max_steps and steps_before + skip >= max_steps:
      break
    for i, batch in enumerate(data, start=skip):
      losses.append(train_step(batch))
      lengths = strategy.experimental_local_results(batch["lengths"])
      n = int(sum(int(tf.reduce_sum(x)) for x in lengths))
      tokens += n
      progress.update(n, epoch, int(i) + 1, losses[-1][0])
      stop = bool(max_steps) and steps_before + i + 1 >= max_steps  # no per-step variable read
      if stop or time.time() - last_save > checkpoint_every_secs:
        batches_var.assign(i + 1)
        manager.save()
        last_save = time.time()
      if stop:
        break
    fwd_loss = float(np.mean([float(f) for f, _ in losses])) if losses else float("nan")
    bwd_loss = float(np.mean([float(b) for _, b in losses])) if losses else float("nan")
    train_secs = time.time() - t0
    # Full-softmax logits are [tokens, vocabulary] floats: 1024 tokens x 50k words = 200 MB.
    # (8192-token batches peaked at 5.4 GB RSS in the first full-corpus run.)
    ppl = perplexity(bilm, corpus.lm_dataset(valid_pattern, featurizer, EVAL_BATCH_TOKENS, seed=0,
                                             shuffle=False))
    row = dict(epoch=epoch, step=int(optimizer.iterations.numpy()), tokens=tokens,
               train_sampled_loss_forward=fwd_loss, train_sampled_loss_backward=bwd_loss,
               valid_perplexity_forward=ppl["forward"], valid_perplexity_backward=ppl["backward"],
               tokens_per_sec=tokens / max(train_secs, 1e-9), train_secs=train_secs)
    with writers["train"].as_default(step=epoch):
      tf.summary.scalar("sampled_loss/forward", fwd_loss)
      tf.summary.scalar("sampled_loss/backward", bwd_loss)
      tf.summary.scalar("tokens_per_sec", row["tokens_per_sec"])
    with writers["valid"].as_default(step=epoch):
      tf.summary.scalar("perplexity/forward", ppl["forward"])
      tf.summary.scalar("perplexity/backward", ppl["backward"])
    if stop:
      row["stopped_at_max_steps"] = True
      logging.info("stopped at --max_steps=%d in epoch %d: valid perplexity forward %.1f "
                   "backward %.1f", max_steps, epoch, ppl["forward"], ppl["backward"])
      history.append(row)  # not in history.jsonl: the epoch is not finished
      break
    epoch_var.assign(epoch + 1)
    batches_var.assign(0)
    manager.save()
    run_dir_lib.append_history(run_dir, row)
    history.append(row)
    logging.info("epoch %d: valid perplexity forward %.1f backward %.1f; %.0f tokens/s",
                 epoch, ppl["forward"], ppl["backward"], row["tokens_per_sec"])
  for w in writers.values():
    w.flush()
  return history
