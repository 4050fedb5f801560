"""Checkpoint surgery on its own: a tagger initialised from a pretrained BiLM, without training.

  python tools/transfer_checkpoint.py --bilm=runs/bilm --train=data/train.tsv \
      --output_dir=runs/tagger_init

Logs one line per variable (mapped with its shape, skipped, left at
initialisation) and writes <output_dir>/{tagger_config.json, vocab/, init/,
transfer.json}: the tagger's vocabularies (the train file's, extended with the
BiLM's) and a checkpoint (`tf.train.Checkpoint(model=tagger)`) for your own
code. `train_tagger --init_from_bilm` does the same surgery before training.
"""
import os

from absl import app, flags

from tf_bilm_ner.errors import UserError
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.transfer import tagger_init

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
    tagger_init.write_tagger_init(FLAGS.bilm, FLAGS.train, FLAGS.output_dir,
                                  overwrite=FLAGS.overwrite)
  except UserError as err:
    raise app.UsageError(str(err)) from None


def run():
  flags.mark_flags_as_required(["bilm", "output_dir"])
  app.run(main)


if __name__ == "__main__":
  run()
