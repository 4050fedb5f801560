"""Pretraining as the binary and the pipeline run it: vocabularies, epoch length, report.json
(`run_dir.write_report`)."""
import json
import os
from typing import Optional

import tensorflow as tf
from absl import logging

from tf_bilm_ner import provenance
from tf_bilm_ner.config import BiLMConfig, BiLMTrainConfig
from tf_bilm_ner.data import corpus, lm_vocab, sharding
from tf_bilm_ner.training import bilm_loop, distribute
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import surgery


def pretrain(train_pattern: str, valid_pattern: str, run_dir: str, config: BiLMConfig,
             train_config: BiLMTrainConfig, shards_manifest: Optional[str] = None,
             max_words: int = 50000, vocab_sample_lines: int = 500_000,
             strategy: Optional[tf.distribute.Strategy] = None, overwrite: bool = False,
             checkpoint_every_secs: float = 300.0, max_steps: int = 0, steps_per_epoch: int = 0,
             started: Optional[float] = None) -> bilm_loop.Pretrained:
  """`train_bilm` with everything around it, as `tools/train_bilm.py` and the pipeline run it.

  Builds the vocabularies from the training shards (unless the run resumes, or continues
  `train_config.init_from_bilm`, whose vocabularies it keeps), derives a multi-worker epoch
  length from the shards' manifest, and writes `<run_dir>/report.json` (shards manifest,
  provenance, history; `finished`) when training starts and when it ends.

  Args:
    shards_manifest: the shards' `manifest.json` (tokens for the ETA, input files for the
      provenance), or None.
    max_words, vocab_sample_lines: the word vocabulary (`lm_vocab.build_lm_vocabularies`).
    started: time.time() at the command's start, for the provenance's wall time.
    The rest: as `train_bilm`.
  """
  strategy = strategy or tf.distribute.get_strategy()
  manifest = {}
  if shards_manifest and os.path.exists(shards_manifest):
    with open(shards_manifest, encoding="utf-8") as f:
      manifest = json.load(f)
  tokens = sharding.train_tokens(manifest) if manifest else 0
  if distribute.num_workers(strategy) > 1 and not steps_per_epoch:
    if not tokens:
      raise corpus.CorpusError("several workers need steps_per_epoch (or a shards manifest "
                               "to derive it from)")
    steps_per_epoch = -(-tokens // train_config.batch_tokens)
    logging.info("multi_worker: an epoch is %d steps", steps_per_epoch)
  vocabs = None
  if train_config.init_from_bilm:
    source = surgery.load_source(train_config.init_from_bilm)
    vocabs = (source.words, source.chars)
  # Workers other than the chief build their own (identical, checked) copy: they never
  # read a vocabulary the chief may be writing at that moment.
  elif (not distribute.is_chief(strategy) or overwrite
        or not os.path.exists(os.path.join(run_dir, "vocab", "words.txt"))):
    logging.info("building vocabularies from %s", train_pattern)
    vocabs = lm_vocab.build_lm_vocabularies(sorted(tf.io.gfile.glob(train_pattern)), max_words,
                                            vocab_sample_lines, seed=train_config.seed)
  inputs = [i["path"] for i in manifest.get("inputs", []) if os.path.exists(i["path"])]
  report = {"shards_manifest": shards_manifest if inputs else None,
            "provenance": provenance.record(inputs, seed=train_config.seed, started=started)}
  result = bilm_loop.train_bilm(train_pattern, valid_pattern, run_dir, config, train_config, vocabs=vocabs,
                      tokens_per_epoch=tokens, strategy=strategy, overwrite=overwrite,
                      checkpoint_every_secs=checkpoint_every_secs, max_steps=max_steps,
                      steps_per_epoch=steps_per_epoch, report=report)
  if distribute.is_chief(strategy):
    report["provenance"] = provenance.record(inputs, seed=train_config.seed, started=started)
    run_dir_lib.write_report(run_dir, dict(report, history=result.history), finished=True)
  return result
