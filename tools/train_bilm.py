"""Pretrains the bidirectional language model on sharded unlabeled text.

  python tools/shard_corpus.py --inputs='../shared/data/unlabeled/*.txt' --output_dir=runs/corpus
  python tools/train_bilm.py --shards_dir=runs/corpus --run_dir=runs/bilm

Rerunning the same command resumes from the last checkpoint. Several GPUs:
--distribution_strategy=mirrored; several machines: =multi_worker with TF_CONFIG
set on each (shards are split between workers by file).
"""
import dataclasses
import glob
import json
import os
import time

import tensorflow as tf
from absl import app, flags, logging

from tf_bilm_ner import bilm_training, distribute, provenance, transfer
from tf_bilm_ner.config import (OPTIMIZERS, PRECISIONS, BiLMConfig, BiLMTrainConfig, ConfigError,
                                 EncoderConfig)
from tf_bilm_ner.data import lm_vocab, sharding
from tf_bilm_ner.data.sharding import CorpusError
from tf_bilm_ner.run_dir import RunDirError

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Output directory; rerun to resume.")
flags.DEFINE_string("shards_dir", None, "Output of shard_corpus: train-*, valid-*, manifest.json.")
flags.DEFINE_string("train_shards", None, "Glob of training shards (instead of --shards_dir).")
flags.DEFINE_string("valid_shards", None, "Glob of validation shards (instead of --shards_dir).")
flags.DEFINE_integer("max_words", 50000, "Word vocabulary size, reserved entries included.")
flags.DEFINE_integer("vocab_sample_lines", 500_000, "Lines sampled for the word vocabulary "
                     "(held in memory while it is built).")
e, t = EncoderConfig(), BiLMTrainConfig()
flags.DEFINE_integer("word_dim", e.word_dim, "Word embedding size.")
flags.DEFINE_integer("char_dim", e.char_dim, "Character embedding size.")
flags.DEFINE_integer("char_filters", e.char_filters, "CharCNN filters.")
flags.DEFINE_integer("lstm_units", e.lstm_units, "LSTM units per direction.")
flags.DEFINE_float("dropout", 0.1, "Dropout on LSTM inputs and outputs.")
flags.DEFINE_integer("num_sampled", BiLMConfig().num_sampled, "Sampled-softmax negatives.")
flags.DEFINE_integer("batch_tokens", t.batch_tokens, "Global token budget per step.")
flags.DEFINE_integer("epochs", t.epochs, "Passes over the training shards.")
flags.DEFINE_float("learning_rate", t.learning_rate, "Adam learning rate.")
flags.DEFINE_integer("seed", t.seed, "Seed: initialisation, file order, line shuffling.")
flags.DEFINE_enum("precision", t.precision, list(PRECISIONS), "float32, or mixed_bfloat16 "
                  "(bfloat16 compute, float32 variables and loss; faster only where bfloat16 "
                  "matmuls are: GPUs, AVX512_BF16/AMX CPUs).")
flags.DEFINE_enum("optimizer", t.optimizer, list(OPTIMIZERS), "adam, or lazy_adam: the word "
                  "embedding and softmax rows a batch does not reach keep their moments and "
                  "values (much faster on CPU; lazy_adam.py).")
flags.DEFINE_string("init_from_bilm", None, "Continue pretraining from this BiLM (a run directory, "
                    "or a package made with --include_softmax, or a shipped name): its weights, "
                    "sizes and vocabularies; the optimiser starts afresh.")
flags.DEFINE_bool("init_position", False, "With --init_from_bilm: start at the epoch and batch "
                  "where that BiLM stopped (the same shards and --seed give the rest of its "
                  "pass): continues an interrupted pretraining from a package.")
flags.DEFINE_enum("distribution_strategy", "default", ["default", "mirrored", "multi_worker"],
                  "default: one device; mirrored: all local GPUs; multi_worker: TF_CONFIG.")
flags.DEFINE_float("checkpoint_every_secs", 300, "Mid-epoch checkpoint interval.")
flags.DEFINE_integer("max_steps", 0, "Stop after this many optimiser steps in all (0: no limit); "
                     "rerun without it to continue.")
flags.DEFINE_integer("steps_per_epoch", 0, "0: an epoch is one pass over the train shards. N: "
                     "an epoch is N steps, each worker cycling its share of the files. "
                     "multi_worker needs a fixed length and defaults to the manifest's "
                     "train tokens / --batch_tokens.")
flags.DEFINE_bool("overwrite", False, "Replace a run with a different config in --run_dir.")
del e, t


def _strategy():
  if FLAGS.distribution_strategy == "mirrored":
    return tf.distribute.MirroredStrategy()
  if FLAGS.distribution_strategy == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise app.UsageError("--distribution_strategy=multi_worker needs TF_CONFIG set")
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def _patterns():
  if bool(FLAGS.shards_dir) == bool(FLAGS.train_shards or FLAGS.valid_shards):
    raise app.UsageError("give --shards_dir, or both --train_shards and --valid_shards")
  if FLAGS.shards_dir:
    return (os.path.join(FLAGS.shards_dir, "train-*"), os.path.join(FLAGS.shards_dir, "valid-*"))
  if not (FLAGS.train_shards and FLAGS.valid_shards):
    raise app.UsageError("--train_shards and --valid_shards go together")
  return FLAGS.train_shards, FLAGS.valid_shards


def _source_config(source, flags_config: BiLMConfig) -> BiLMConfig:
  """The BiLM config of a continued run: the source's sizes; a size flag given must agree."""
  for name in transfer.SHARED_SIZES:
    given = name in FLAGS and FLAGS[name].present
    if given and FLAGS[name].value != getattr(source.config.encoder, name):
      raise app.UsageError(f"--{name}={FLAGS[name].value} but the BiLM in --init_from_bilm has "
                           f"{name}={getattr(source.config.encoder, name)}")
  return dataclasses.replace(source.config, num_sampled=flags_config.num_sampled,
                             encoder=dataclasses.replace(source.config.encoder,
                                                         dropout=flags_config.encoder.dropout))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  if FLAGS.steps_per_epoch < 0:
    raise app.UsageError(f"--steps_per_epoch must be >= 0, got {FLAGS.steps_per_epoch}")
  train_pattern, valid_pattern = _patterns()
  if FLAGS.init_position and not FLAGS.init_from_bilm:
    raise app.UsageError("--init_position needs --init_from_bilm")
  strategy = _strategy()  # before any work: a bad TF_CONFIG should not cost a vocabulary build
  for flag, pattern in (("train", train_pattern), ("valid", valid_pattern)):
    if not glob.glob(pattern):
      raise app.UsageError(f"--{flag} shards: {pattern} matches no file")
  tokens = 0
  manifest = os.path.join(FLAGS.shards_dir or "", "manifest.json")
  if FLAGS.shards_dir and os.path.exists(manifest):
    with open(manifest) as f:
      tokens = sharding.train_tokens(json.load(f))
  try:
    config = BiLMConfig(encoder=EncoderConfig(
        word_dim=FLAGS.word_dim, char_dim=FLAGS.char_dim, char_filters=FLAGS.char_filters,
        lstm_units=FLAGS.lstm_units, dropout=FLAGS.dropout, word_dropout=0.0),
        num_sampled=FLAGS.num_sampled)
    config.validate()
    source = None
    if FLAGS.init_from_bilm:
      source = transfer.load_source(FLAGS.init_from_bilm)
      config = _source_config(source, config)
    train_config = BiLMTrainConfig(learning_rate=FLAGS.learning_rate,
                                   batch_tokens=FLAGS.batch_tokens, epochs=FLAGS.epochs,
                                   seed=FLAGS.seed, precision=FLAGS.precision,
                                   optimizer=FLAGS.optimizer,
                                   init_from_bilm=os.path.abspath(source.checkpoint)
                                   if source else "", init_position=FLAGS.init_position)
    train_config.validate()
    steps_per_epoch = FLAGS.steps_per_epoch
    if distribute.num_workers(strategy) > 1 and not steps_per_epoch:
      if not tokens:
        raise app.UsageError("--distribution_strategy=multi_worker needs --steps_per_epoch "
                             "(or --shards_dir with a manifest.json to derive it from)")
      steps_per_epoch = -(-tokens // FLAGS.batch_tokens)
      logging.info("multi_worker: an epoch is %d steps", steps_per_epoch)
    vocabs = (source.words, source.chars) if source else None
    # Workers other than the chief build their own (identical, checked) copy: they never
    # read a vocabulary the chief may be writing at that moment.
    if not source and (not distribute.is_chief(strategy) or FLAGS.overwrite
        or not os.path.exists(os.path.join(FLAGS.run_dir, "vocab", "words.txt"))):
      logging.info("building vocabularies from %s", train_pattern)
      vocabs = lm_vocab.build_lm_vocabularies(sorted(glob.glob(train_pattern)), FLAGS.max_words,
                                              FLAGS.vocab_sample_lines, seed=FLAGS.seed)
    inputs = []
    if FLAGS.shards_dir and os.path.exists(manifest):
      with open(manifest) as f:
        inputs = [i["path"] for i in json.load(f)["inputs"] if os.path.exists(i["path"])]
    report = {"shards_manifest": manifest if inputs else None,
              "provenance": provenance.record(inputs, seed=FLAGS.seed, started=started)}
    history = bilm_training.train_bilm(
        train_pattern, valid_pattern, FLAGS.run_dir, config, train_config, vocabs=vocabs,
        tokens_per_epoch=tokens, strategy=strategy, overwrite=FLAGS.overwrite,
        checkpoint_every_secs=FLAGS.checkpoint_every_secs, max_steps=FLAGS.max_steps,
        steps_per_epoch=steps_per_epoch, report=report).history
  except (ConfigError, CorpusError, RunDirError, transfer.TransferError) as err:
    raise app.UsageError(str(err)) from None
  if not distribute.is_chief(strategy):
    return
  report["provenance"] = provenance.record(inputs, seed=FLAGS.seed, started=started)
  bilm_training.write_report(FLAGS.run_dir, dict(report, history=history), finished=True)
  if history:
    last = history[-1]
    logging.info("done: %d epochs; valid perplexity forward %.1f backward %.1f",
                 len(history), last["valid_perplexity_forward"], last["valid_perplexity_backward"])


def run():
  flags.mark_flag_as_required("run_dir")
  app.run(main)


if __name__ == "__main__":
  run()
