"""Pretrains the bidirectional language model on sharded unlabeled text.

  python tools/shard_corpus.py --inputs='../shared/data/unlabeled/*.txt' --output_dir=runs/corpus
  python tools/train_bilm.py --shards_dir=runs/corpus --run_dir=runs/bilm

Rerunning the same command resumes from the last checkpoint. Several GPUs:
--distribution_strategy=mirrored; several machines: =multi_worker with TF_CONFIG
set on each (shards are split between workers by file).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import glob
import os
import time

import tensorflow as tf
from absl import app, flags, logging

from tf_bilm_ner.training import distribute, pretraining
from tf_bilm_ner.transfer import surgery
from tf_bilm_ner.config import (OPTIMIZERS, PRECISIONS, BiLMConfig, BiLMTrainConfig,
                                 EncoderConfig)

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
flags.DEFINE_integer("softmax_warmup_steps", 0, "With --init_from_bilm: the first N steps "
                     "train the softmax alone, the encoder frozen. Needed (N > 0) to continue "
                     "from a BiLM packaged without its softmax, as the shipped ones are: the "
                     "softmax then starts random.")
flags.DEFINE_bool("unique_chars", False, "The CharCNN runs once per distinct token of a batch: "
                  "the same values, faster steps (gradients summed in another order).")
flags.DEFINE_bool("hoisted_lstm", False, "Both LSTMs with their input projections out of the "
                  "time loop and a hand-written gradient (layers/hoisted.py): the same states "
                  "and gradients within float32 rounding, faster steps on CPU.")
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


def _validate_flag_combinations():
  if FLAGS.steps_per_epoch < 0:
    raise app.UsageError(f"--steps_per_epoch must be >= 0, got {FLAGS.steps_per_epoch}")
  for name in ("init_position", "softmax_warmup_steps"):
    if FLAGS[name].value and not FLAGS.init_from_bilm:
      raise app.UsageError(f"--{name} needs --init_from_bilm")


def _patterns():
  if bool(FLAGS.shards_dir) == bool(FLAGS.train_shards or FLAGS.valid_shards):
    raise app.UsageError("give --shards_dir, or both --train_shards and --valid_shards")
  if FLAGS.shards_dir:
    patterns = (os.path.join(FLAGS.shards_dir, "train-*"),
                os.path.join(FLAGS.shards_dir, "valid-*"))
  elif not (FLAGS.train_shards and FLAGS.valid_shards):
    raise app.UsageError("--train_shards and --valid_shards go together")
  else:
    patterns = FLAGS.train_shards, FLAGS.valid_shards
  for flag, pattern in zip(("train", "valid"), patterns):
    if not glob.glob(pattern):
      raise app.UsageError(f"--{flag} shards: {pattern} matches no file")
  return patterns


def _configs():
  """BiLMConfig and BiLMTrainConfig from the flags; a continued BiLM's own sizes."""
  config = BiLMConfig(encoder=EncoderConfig(
      word_dim=FLAGS.word_dim, char_dim=FLAGS.char_dim, char_filters=FLAGS.char_filters,
      lstm_units=FLAGS.lstm_units, dropout=FLAGS.dropout, word_dropout=0.0),
      num_sampled=FLAGS.num_sampled)
  config.validate()
  source = None
  if FLAGS.init_from_bilm:
    source = surgery.load_source(FLAGS.init_from_bilm)
    given = {n: FLAGS[n].value for n in surgery.SHARED_SIZES if n in FLAGS and FLAGS[n].present}
    for name, value in given.items():
      if value != getattr(source.config.encoder, name):
        raise app.UsageError(f"--{name}={value} but the BiLM in --init_from_bilm has "
                             f"{name}={getattr(source.config.encoder, name)}")
    config = surgery.continued_config(source, config, given)
  train_config = BiLMTrainConfig(
      learning_rate=FLAGS.learning_rate, batch_tokens=FLAGS.batch_tokens, epochs=FLAGS.epochs,
      seed=FLAGS.seed, precision=FLAGS.precision, optimizer=FLAGS.optimizer,
      init_from_bilm=os.path.abspath(source.checkpoint) if source else "",
      init_position=FLAGS.init_position, unique_chars=FLAGS.unique_chars,
      hoisted_lstm=FLAGS.hoisted_lstm, softmax_warmup_steps=FLAGS.softmax_warmup_steps)
  train_config.validate()
  return config, train_config


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  _validate_flag_combinations()
  train_pattern, valid_pattern = _patterns()
  strategy = _strategy()  # before any work: a bad TF_CONFIG should not cost a vocabulary build
  config, train_config = _configs()
  history = pretraining.pretrain(
      train_pattern, valid_pattern, FLAGS.run_dir, config, train_config,
      shards_manifest=os.path.join(FLAGS.shards_dir, "manifest.json") if FLAGS.shards_dir
      else None, max_words=FLAGS.max_words, vocab_sample_lines=FLAGS.vocab_sample_lines,
      strategy=strategy, overwrite=FLAGS.overwrite,
      checkpoint_every_secs=FLAGS.checkpoint_every_secs, max_steps=FLAGS.max_steps,
      steps_per_epoch=FLAGS.steps_per_epoch, started=started).history
  if history and distribute.is_chief(strategy):
    last = history[-1]
    logging.info("done: %d epochs; valid perplexity forward %.1f backward %.1f",
                 len(history), last["valid_perplexity_forward"], last["valid_perplexity_backward"])


def run():
  flags.mark_flag_as_required("run_dir")
  cli.run(main)


if __name__ == "__main__":
  run()
