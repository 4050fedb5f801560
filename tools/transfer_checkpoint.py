"""Checkpoint surgery on its own: a tagger initialised from a pretrained BiLM, without training.

  python tools/transfer_checkpoint.py --bilm=runs/bilm --train=data/train.tsv \
      --output_dir=runs/tagger_init

Logs one line per variable (mapped with its shape, skipped, left at
initialisation) and writes <output_dir>/{tagger_config.json, vocab/, init/,
transfer.json}: the tagger's vocabularies (the train file's, extended with the
BiLM's) and a checkpoint (`tf.train.Checkpoint(model=tagger)`) for your own
code. `train_tagger --init_from_bilm` does the same surgery before training.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os

from absl import app, flags

from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.transfer import tagger_init

FLAGS = flags.FLAGS
flags.DEFINE_string("bilm", None, "A train_bilm run dir, or a checkpoint prefix in its ckpt/.")
flags.DEFINE_string("train", os.path.join(NCBI_DISEASE_DIR, "train.tsv"),
                    "Training file (CoNLL in any tagging scheme, or PubTator with annotations): "
                    "the tagger's words, characters and tags.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "The entity type of untyped B/I/O "
                    "tags in --train.")
flags.DEFINE_string("output_dir", None, "Directory to create.")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if os.path.exists(FLAGS.output_dir) and not FLAGS.overwrite:
    raise app.UsageError(f"--output_dir: {FLAGS.output_dir} exists; pass --overwrite")
  if not os.path.isfile(FLAGS.train):
    raise UserError(f"--train: {FLAGS.train}: file not found")
  tagger_init.write_tagger_init(FLAGS.bilm, FLAGS.train, FLAGS.output_dir,
                                overwrite=FLAGS.overwrite, entity_type=FLAGS.entity_type)


def run():
  flags.mark_flags_as_required(["bilm", "output_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
