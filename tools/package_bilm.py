"""Packages a pretrained BiLM for fine-tuning: encoder weights (float16 by default),
vocabularies, config and a manifest with the pretraining's provenance.

  python tools/package_bilm.py --bilm=runs/bilm/shared_10epoch \
      --output_dir=checkpoints/biomed5m_10epoch

`train_tagger --init_from_bilm=biomed5m_10epoch` then finds it by name (a package in the
repository's checkpoints/), or by path anywhere.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

from absl import app, flags, logging

from tf_bilm_ner.transfer import packaging

FLAGS = flags.FLAGS
flags.DEFINE_string("bilm", None, "A train_bilm run dir, or a checkpoint prefix in its ckpt/.")
flags.DEFINE_string("output_dir", None, "Directory to create.")
flags.DEFINE_enum("dtype", "float16", list(packaging.DTYPES), "Storage type of the weights.")
flags.DEFINE_bool("include_softmax", False, "Also package the softmax, so that pretraining can "
                  "continue from the package (train_bilm --init_from_bilm).")
flags.DEFINE_string("valid_shards", None, "Glob of validation shards: record the validation "
                    "perplexity with float32 and with the stored encoder weights.")
flags.DEFINE_list("earlier_runs", [], "For a BiLM pretrained in several runs, each continuing "
                  "the last: the earlier run directories (or their copies in results/), oldest "
                  "first, so that the manifest's per-epoch perplexity covers them all.")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  manifest = packaging.package(FLAGS.bilm, FLAGS.output_dir, FLAGS.dtype, FLAGS.overwrite,
                          FLAGS.valid_shards, include_softmax=FLAGS.include_softmax,
                               earlier_runs=FLAGS.earlier_runs)
  logging.info("wrote %s: %d encoder parameters as %s, %d steps, %d epochs", FLAGS.output_dir,
               manifest["encoder_parameters"], manifest["dtype"], manifest["steps"],
               manifest["epochs"])


def run():
  flags.mark_flags_as_required(["bilm", "output_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
