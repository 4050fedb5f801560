"""Tagger training with Keras' LSTMs against `layers/hoisted.py`'s (`train_tagger --hoisted_lstm`).

Both settings start from the same weights (the same seed), train with the table's optimiser
(Adam at `TrainConfig`'s learning rate and clip norm, the encoder at `encoder_lr_scale`) on the
same batches in the same order, and run in interleaved rounds (round r of one setting, then of
the other), so that both share the same minutes of a machine whose speed drifts. Model-only:
batches are featurised and materialised before the clock starts (`training_speed.throughput`).
The first step of each setting traces its graph and is not timed. The losses of the last round
show that both trained the same model.
"""
import time
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.experiments import training_speed
from tf_bilm_ner.training.tagger_steps import TRAIN_SIGNATURE, make_train_step

SETTINGS = ("keras", "hoisted")


def _trainer(sentences: Sequence[Sentence], config: TaggerConfig, hoisted: bool,
             batch_tokens: int, encoder_lr_scale: float, seed: int):
  """(train step, batches) of a fresh tagger seeded with `seed`."""
  tf.keras.utils.set_random_seed(seed)
  _, data, tagger = training_speed._setup(sentences, config)
  batches = training_speed._batches(data, "token_budget", batch_tokens, TRAIN_SIGNATURE)
  tagger.build_from_features(batches[0])
  tagger.use_hoisted_lstm(hoisted)
  defaults = TrainConfig()
  optimizer = tf.keras.optimizers.Adam(defaults.learning_rate,
                                       global_clipnorm=defaults.clip_norm)
  return make_train_step(tagger, optimizer, encoder_lr_scale=encoder_lr_scale), batches


def compare(sentences: Sequence[Sentence], config: TaggerConfig, batch_tokens: int,
            rounds: int, steps_per_round: int, encoder_lr_scale: float, seed: int = 1) -> Dict[str, dict]:
  """Training tokens/s (real tokens; padding not counted) of each of `SETTINGS`.

  Returns:
    {setting: {tokens_per_sec (all rounds), rounds_tokens_per_sec, last_round_losses}},
    plus "speedup": hoisted tokens/s over keras tokens/s.
  """
  if rounds < 1 or steps_per_round < 1:
    raise ValueError("rounds and steps_per_round must be positive")
  runs = {name: _trainer(sentences, config, name == "hoisted", batch_tokens,
                         encoder_lr_scale, seed) for name in SETTINGS}
  for step, batches in runs.values():
    step(batches[0]).numpy()  # traces
  out = {name: {"seconds": 0.0, "tokens": 0, "rounds_tokens_per_sec": []} for name in runs}
  for r in range(rounds):
    for name, (step, batches) in runs.items():
      chunk = [batches[(1 + r * steps_per_round + i) % len(batches)]
               for i in range(steps_per_round)]
      tokens = sum(int(tf.reduce_sum(b["lengths"])) for b in chunk)
      start = time.perf_counter()
      losses = [step(b) for b in chunk]
      losses = [float(x) for x in losses]  # waits for the last step
      seconds = time.perf_counter() - start
      row = out[name]
      row["seconds"] += seconds
      row["tokens"] += tokens
      row["rounds_tokens_per_sec"].append(tokens / seconds)
      row["last_round_losses"] = losses
  for row in out.values():
    row["tokens_per_sec"] = row["tokens"] / row["seconds"]
  result = dict(out)
  result["speedup"] = out["hoisted"]["tokens_per_sec"] / out["keras"]["tokens_per_sec"]
  result["max_loss_difference"] = float(np.max(np.abs(
      np.subtract(out["hoisted"]["last_round_losses"], out["keras"]["last_round_losses"]))))
  return result
