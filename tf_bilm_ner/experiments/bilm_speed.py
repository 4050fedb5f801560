"""BiLM training settings side by side: speed, and perplexity after the same steps.

Every setting trains a fresh BiLM from the same initial weights on the same stream of lines
(batched by its own budget) for the same number of steps; tokens/s counts the real tokens of
the steps after the warm-up (tracing), the input pipeline included, as in `train_bilm`'s loop;
then the full-softmax perplexity on the validation shards.

Sequential (`interleave_steps=0`): one setting after another, as the earlier tables were
measured. Interleaved (`interleave_steps=K`): all settings are built and warmed up, then run
K steps each in turn until done, so that every setting sees the same minutes of a machine
whose speed drifts (this VM's moves by a fifth within an hour); each setting's own steps,
weights and perplexity are those of the sequential mode.
"""
import dataclasses
import time
from typing import Dict, List, Sequence

import tensorflow as tf
from absl import logging

from tf_bilm_ner.config import BiLMConfig, EncoderConfig
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.training import bilm_steps, lazy_adam

WARMUP_STEPS = 10  # untimed steps per setting: the first traces the step


@dataclasses.dataclass
class BiLMSetting:
  """One BiLM training setting to compare: precision, optimiser, negatives, batch budget,
  whether the CharCNN runs on each batch's distinct tokens only, whether the LSTMs run
  as `layers/hoisted.py` does, and whether the sampled loss is TensorFlow's
  (`tf.nn.sampled_softmax_loss`, the path before issue #16) instead of
  `layers/sampled_softmax.py`."""
  precision: str = "float32"
  optimizer: str = "adam"
  num_sampled: int = 1024
  batch_tokens: int = 4096
  unique_chars: bool = False
  hoisted_lstm: bool = False
  tf_softmax: bool = False

  OPTIONS = ("unique", "hoisted", "tf_softmax")

  @classmethod
  def parse(cls, text: str) -> "BiLMSetting":
    """"precision:optimizer:num_sampled:batch_tokens" then any of ":unique", ":hoisted",
    ":tf_softmax", e.g. "float32:lazy_adam:1024:4096" or
    "float32:lazy_adam:1024:4096:unique:hoisted"."""
    parts = text.split(":")
    options = parts[4:]
    if (len(parts) < 4 or len(set(options)) != len(options)
        or not set(options) <= set(cls.OPTIONS)):
      raise ValueError(f"{text!r}: expected precision:optimizer:num_sampled:batch_tokens, "
                       "optionally followed by any of :unique, :hoisted, :tf_softmax")
    return cls(parts[0], parts[1], int(parts[2]), int(parts[3]), "unique" in options,
               "hoisted" in options, "tf_softmax" in options)


class _SettingRun:
  """One setting's BiLM, optimiser and batch stream; `steps` trains and times."""

  def __init__(self, setting: BiLMSetting, train_pattern: str, words, chars, seed: int,
               encoder: EncoderConfig):
    self.setting = setting
    config = bilm_steps.sized(BiLMConfig(encoder=encoder, num_sampled=setting.num_sampled),
                              words, chars)
    tf.keras.utils.set_random_seed(seed)
    self.featurizer = Featurizer(words, chars, config.encoder.max_chars_per_token)
    self.bilm = bilm_steps.build_bilm(config, setting.precision, setting.unique_chars,
                                      setting.hoisted_lstm)
    self.bilm.reference_softmax = setting.tf_softmax
    optimizer = lazy_adam.make(setting.optimizer, 2e-3, 5.0)
    self.train_step = bilm_steps.make_train_step(self.bilm, optimizer,
                                                 tf.distribute.get_strategy())
    self.batches = iter(corpus.lm_dataset(train_pattern, self.featurizer,
                                          setting.batch_tokens, seed).repeat())
    self.done = self.timed_steps = self.tokens = 0
    self.secs, self.loss = 0.0, None

  def steps(self, n: int, timed: bool) -> None:
    """Trains `n` steps; with `timed`, adds their wall time and real tokens to the count."""
    start, tokens = time.perf_counter(), 0
    for _ in range(n):
      batch = next(self.batches)
      self.loss = self.train_step(batch)
      tokens += int(tf.reduce_sum(batch["lengths"]))
    float(self.loss[0])  # the last step has finished
    self.done += n
    if timed:
      self.secs += time.perf_counter() - start
      self.tokens += tokens
      self.timed_steps += n

  def row(self, valid_pattern: str) -> Dict[str, float]:
    ppl = bilm_steps.perplexity(self.bilm, corpus.lm_dataset(
        valid_pattern, self.featurizer, bilm_steps.EVAL_BATCH_TOKENS, seed=0, shuffle=False))
    row = {"train_tokens_per_sec": self.tokens / self.secs, "steps": self.done,
           "timed_steps": self.timed_steps, "timed_secs": self.secs,
           "valid_perplexity_forward": ppl["forward"],
           "valid_perplexity_backward": ppl["backward"],
           "final_sampled_loss_forward": float(self.loss[0]),
           **dataclasses.asdict(self.setting)}
    logging.info("%s: %.0f tokens/s; after %d steps valid perplexity forward %.1f backward %.1f",
                 self.setting, row["train_tokens_per_sec"], self.done,
                 row["valid_perplexity_forward"], row["valid_perplexity_backward"])
    return row


def bilm_settings(train_pattern: str, valid_pattern: str, words, chars,
                  settings: Sequence[str], steps: int, warmup_steps: int = WARMUP_STEPS,
                  interleave_steps: int = 0, seed: int = 1,
                  encoder: EncoderConfig = None) -> List[dict]:
  """One row per "precision:optimizer:num_sampled:batch_tokens[:option...]" setting
  (`BiLMSetting.parse`; ValueError for a malformed one, before any work): `steps` steps of
  which the first `warmup_steps` are not timed, sequential or interleaved in turns of
  `interleave_steps` (module docstring). `encoder`: the sizes (default: the shipped BiLM's,
  with pretraining's dropout 0.1 and no word dropout)."""
  parsed = [BiLMSetting.parse(s) for s in settings]
  encoder = encoder or EncoderConfig(dropout=0.1, word_dropout=0.0)
  if steps <= warmup_steps:
    raise ValueError(f"steps ({steps}) must exceed warmup_steps ({warmup_steps})")
  if interleave_steps < 0:
    raise ValueError(f"interleave_steps must be >= 0, got {interleave_steps}")
  if not interleave_steps:
    rows = []
    for setting in parsed:
      run = _SettingRun(setting, train_pattern, words, chars, seed, encoder)
      run.steps(warmup_steps, timed=False)
      run.steps(steps - warmup_steps, timed=True)
      rows.append(run.row(valid_pattern))
    return rows
  runs = [_SettingRun(s, train_pattern, words, chars, seed, encoder) for s in parsed]
  for run in runs:
    run.steps(warmup_steps, timed=False)
  while runs[0].done < steps:
    n = min(interleave_steps, steps - runs[0].done)
    for run in runs:
      run.steps(n, timed=True)
  return [run.row(valid_pattern) for run in runs]
