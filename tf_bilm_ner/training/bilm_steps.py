"""The BiLM's traced steps: building it, one (distributed) training step, full-softmax
perplexity."""
import dataclasses
import math
from typing import Dict, Sized

import tensorflow as tf

from tf_bilm_ner.config import BiLMConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.training import precision

EVAL_BATCH_TOKENS = 1024
LM_SIGNATURE = {
    "token_ids": tf.TensorSpec([None, None], tf.int32),
    "char_ids": tf.TensorSpec([None, None, None], tf.int32),
    "lengths": tf.TensorSpec([None], tf.int32),
    "forward_targets": tf.TensorSpec([None, None], tf.int32),
    "backward_targets": tf.TensorSpec([None, None], tf.int32),
}


def sized(config: BiLMConfig, words: Sized, chars: Sized) -> BiLMConfig:
  """`config` with its encoder's vocabulary sizes set from the word and character
  vocabularies."""
  return dataclasses.replace(config, encoder=dataclasses.replace(
      config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)))


def build_bilm(config: BiLMConfig, precision_name: str = "float32",
               unique_chars: bool = False, hoisted_lstm: bool = False) -> BiLM:
  """A BiLM with its variables created, computing in `precision_name` (`precision.py`);
  `unique_chars`: its CharCNN trains on each batch's distinct tokens (`CharCNN.call`);
  `hoisted_lstm`: its LSTMs train as `layers/hoisted.py` runs them (`Encoder.call`)."""
  bilm = BiLM(config, dtype=precision.policy(precision_name))
  bilm.encoder.unique_chars = unique_chars
  bilm.encoder.hoisted_lstm = hoisted_lstm
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
                    strategy: tf.distribute.Strategy, softmax_only: bool = False):
  """A traced step on one (distributed) batch -> mean sampled losses (forward, backward).

  Each replica's loss is divided by the number of replicas, since the strategy
  sums gradients across replicas. `softmax_only`: the step updates the softmax weights and
  biases alone (the encoder is frozen; no gradient flows into it).
  """
  replicas = strategy.num_replicas_in_sync
  variables = ([bilm.softmax_weights, bilm.softmax_biases] if softmax_only
               else bilm.trainable_variables)

  def replica_step(batch):
    with tf.GradientTape() as tape:
      losses = bilm.sampled_loss(batch, training=True)
      loss = 0.5 * (losses["forward"] + losses["backward"]) / replicas
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return losses["forward"], losses["backward"]

  @tf.function(reduce_retracing=True)
  def train_step(batch):
    fwd, bwd = strategy.run(replica_step, args=(batch,))
    mean = lambda x: strategy.reduce(tf.distribute.ReduceOp.MEAN, x, axis=None)
    return mean(fwd), mean(bwd)

  return train_step


def epoch_sums(done: Dict[str, float], losses: list, tokens: int) -> Dict[str, float]:
  """The epoch so far: what the checkpoint had (`done`) plus this process's steps."""
  return {"epoch_loss_forward": done["epoch_loss_forward"] + sum(float(f) for f, _ in losses),
          "epoch_loss_backward": done["epoch_loss_backward"] + sum(float(b) for _, b in losses),
          "epoch_batches": done["epoch_batches"] + len(losses),
          "epoch_tokens": done["epoch_tokens"] + tokens}


def epoch_row(bilm, epoch, optimizer, sums, tokens, secs, valid_pattern, featurizer):
  """The history row of an epoch: mean train losses, full-softmax valid perplexity, speed.

  `tokens` and the losses in the row cover the whole epoch (a resumed one too) on this
  worker; `tokens_per_sec` and `train_secs` are this process's part of it.
  """
  batches = sums["epoch_batches"]
  mean = lambda k: sums[k] / batches if batches else float("nan")
  # Full-softmax logits are [tokens, vocabulary] floats: 1024 tokens x 50k words = 200 MB.
  # (8192-token batches peaked at 5.4 GB RSS in the first full-corpus run.)
  ppl = perplexity(bilm, corpus.lm_dataset(valid_pattern, featurizer,
                                                      EVAL_BATCH_TOKENS, seed=0,
                                           shuffle=False))
  return dict(epoch=epoch, step=int(optimizer.iterations.numpy()),
              tokens=int(sums["epoch_tokens"]),
              train_sampled_loss_forward=mean("epoch_loss_forward"),
              train_sampled_loss_backward=mean("epoch_loss_backward"),
              valid_perplexity_forward=ppl["forward"], valid_perplexity_backward=ppl["backward"],
              tokens_per_sec=tokens / max(secs, 1e-9), train_secs=secs)


def epoch_summaries(writers, epoch, row):
  with writers["train"].as_default(step=epoch):
    tf.summary.scalar("sampled_loss/forward", row["train_sampled_loss_forward"])
    tf.summary.scalar("sampled_loss/backward", row["train_sampled_loss_backward"])
    tf.summary.scalar("tokens_per_sec", row["tokens_per_sec"])
  with writers["valid"].as_default(step=epoch):
    tf.summary.scalar("perplexity/forward", row["valid_perplexity_forward"])
    tf.summary.scalar("perplexity/backward", row["valid_perplexity_backward"])
