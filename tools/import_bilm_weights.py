"""Turns a BiLM pretrained by tools/train_bilm_torch.py into a package for fine-tuning.

  python tools/import_bilm_weights.py --weights=runs/bilm_torch/u512 \
      --vocab_dir=checkpoints/biomed52m_u384_3epoch/vocab --output_dir=runs/bilm/u512_package

The Keras encoder is rebuilt with the trainer's sizes and weights and run on the reference
lines stored with them; unless its states match the trainer's (--tolerance), nothing is
written. `train_tagger --init_from_bilm=<output_dir>` then reads the package.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

from absl import app, flags, logging

from tf_bilm_ner.transfer import npz_import

FLAGS = flags.FLAGS
flags.DEFINE_string("weights", None, "train_bilm_torch's --out_dir (report.json, weights.json, "
                    "weights-*.npz).")
flags.DEFINE_string("vocab_dir", None, "The vocabularies the corpus was packed with.")
flags.DEFINE_string("output_dir", None, "Package directory to create.")
flags.DEFINE_integer("max_chars_per_token", 32, "As the corpus was packed with.")
flags.DEFINE_float("tolerance", 1e-4, "Largest allowed state difference on the reference lines.")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  manifest = npz_import.import_bilm(FLAGS.weights, FLAGS.vocab_dir, FLAGS.output_dir,
                                    FLAGS.max_chars_per_token, FLAGS.tolerance, FLAGS.overwrite)
  logging.info("wrote %s: %d encoder parameters, reference states within %.3g",
               FLAGS.output_dir, manifest["encoder_parameters"],
               manifest["reference_check_max_abs_difference"])


def run():
  flags.mark_flags_as_required(["weights", "vocab_dir", "output_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
