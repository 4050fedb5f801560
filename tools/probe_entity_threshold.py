"""A minimum entity score chosen on devel, scored on test, for a tagger SavedModel (a shipped
package or an export): does dropping the entities the CRF is least sure of raise F1?

  python tools/probe_entity_threshold.py --saved_model=checkpoints/gene \\
      --data_dir=../shared/data/BC2GM-IOB --out=results/entity_threshold_probe/gene.json

The model must not have been trained on devel (the threshold is chosen there). See
tf_bilm_ner/experiments/entity_threshold.py.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

import tensorflow as tf
from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data import formats
from tf_bilm_ner.experiments import entity_threshold

FLAGS = flags.FLAGS
flags.DEFINE_string("saved_model", None, "A tagger SavedModel directory (its serving_default).")
flags.DEFINE_string("data_dir", None, "Directory with devel.tsv and test.tsv.")
flags.DEFINE_string("out", None, "Write the results JSON here.")
flags.mark_flags_as_required(["saved_model", "data_dir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  paths = [os.path.join(FLAGS.data_dir, f"{split}.tsv") for split in ("devel", "test")]
  devel, test = (formats.read_labeled(p) for p in paths)
  signature = tf.saved_model.load(FLAGS.saved_model).signatures["serving_default"]
  result = entity_threshold.probe(signature, devel, test)
  for name in ("devel", "test"):
    for row in result[name]:
      logging.info("%s min score %.2f: P/R/F1 %.2f/%.2f/%.2f", name, row["min_score"],
                   row["precision"], row["recall"], row["f1"])
  logging.info("devel chose %.2f: test F1 %.2f, against %.2f with no threshold",
               result["chosen"], result["test_f1_chosen"], result["test_f1_at_0"])
  result.update(saved_model=FLAGS.saved_model,
                provenance=provenance.record(paths, started=started))
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
