"""Checkpoint surgery on its own: a tagger initialised from a pretrained BiLM, without training.

  python tools/transfer_checkpoint.py --bilm=runs/bilm --train=data/train.tsv \
      --output_dir=runs/tagger_init

Logs one line per variable (mapped with its shape, skipped, left at
initialisation) and writes <output_dir>/{tagger_config.json, vocab/, init/,
transfer.json}: the tagger's vocabularies (the train file's, extended with the
BiLM's) and a checkpoint (`tf.train.Checkpoint(model=tagger)`) for your own
code. `train_tagger --init_from_bilm` does the same surgery before training.
"""
import dataclasses
import os
import shutil

import tensorflow as tf
from absl import app, flags, logging

from tf_bilm_ner import transfer
from tf_bilm_ner import run_dir as run_dir_lib
from tf_bilm_ner.config import ConfigError, TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import ConllFormatError, read_conll
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("bilm", None, "A train_bilm run dir, or a checkpoint prefix in its ckpt/.")
flags.DEFINE_string("train", os.path.join(NCBI_DISEASE_DIR, "train.tsv"),
                    "CoNLL/IOB2 training file: the tagger's words, characters and tags.")
flags.DEFINE_string("output_dir", None, "Directory to create.")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if os.path.exists(FLAGS.output_dir) and not FLAGS.overwrite:
    raise app.UsageError(f"--output_dir: {FLAGS.output_dir} exists; pass --overwrite")
  if not os.path.isfile(FLAGS.train):
    raise app.UsageError(f"--train: file not found: {FLAGS.train}")
  try:
    source = transfer.load_source(FLAGS.bilm)
    train = read_conll(FLAGS.train)
    words, chars, tags = vocab_lib.build_vocabularies([s.tokens for s in train],
                                                      [s.tags for s in train])
    vocabs = run_dir_lib.Vocabs(transfer.extend(words, source.words),
                                transfer.extend(chars, source.chars), tags)
    config = TaggerConfig(encoder=dataclasses.replace(
        source.config.encoder, word_vocab_size=len(vocabs.words),
        char_vocab_size=len(vocabs.chars), dropout=0.5, word_dropout=0.1), num_tags=len(tags))
    tagger = Tagger(config)
    run_dir_lib.build_variables(tagger)
    report = transfer.transfer(tagger.encoder, vocabs.words, vocabs.chars, source,
                               left=[v.name for v in tagger.trainable_variables
                                     if "encoder" not in v.name])
  except (ConfigError, ConllFormatError, transfer.TransferError) as err:
    raise app.UsageError(str(err)) from None
  report.log()
  tmp = f"{FLAGS.output_dir.rstrip('/')}.tmp-{os.getpid()}"
  vocabs.save(os.path.join(tmp, "vocab"))
  config.save(os.path.join(tmp, "tagger_config.json"))
  tf.train.Checkpoint(model=tagger).write(os.path.join(tmp, "init", "ckpt"))
  report.save(os.path.join(tmp, "transfer.json"), source)
  if os.path.exists(FLAGS.output_dir):
    shutil.rmtree(FLAGS.output_dir)
  os.replace(tmp, FLAGS.output_dir)
  logging.info("wrote %s", FLAGS.output_dir)


def run():
  flags.mark_flags_as_required(["bilm", "output_dir"])
  app.run(main)


if __name__ == "__main__":
  run()
