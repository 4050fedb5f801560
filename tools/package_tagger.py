"""Packages a trained tagger as a shipped SavedModel: compact (float16 word table, words cut
to the first --max_words), scored on devel and test as shipped, with a manifest.

  python tools/package_tagger.py --run_dir=runs/ship/disease --output_dir=checkpoints/disease \
      --data_dir=tf_bilm_ner/resources/ncbi_disease --data_terms="NCBI-disease corpus ..."

`load_tagger("disease")` and `tf-bilm-predict --model=disease` then find it by name (a package
in the repository's checkpoints/), or by path anywhere. Layout and manifest:
tf_bilm_ner/serving/shipping.py.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags, logging

from tf_bilm_ner import entity_threshold
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.serving import compact, export, shipping

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A finished train_tagger run directory.")
flags.DEFINE_string("output_dir", None, "Directory to create (checkpoints/NAME to ship it).")
flags.DEFINE_string("name", None, "The model's name (default: the output directory's).")
flags.DEFINE_string("data_dir", None, "The run's train.tsv, devel.tsv, test.tsv (devel and test "
                    "are scored with the packaged SavedModel).")
flags.DEFINE_string("data_terms", None, "The training data's licence and attribution, for the "
                    "manifest.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "The entity type of untyped B/I/O "
                    "tags in --data_dir.")
flags.DEFINE_integer("max_words", 0, "Keep the first rows of the word table (every train word, "
                     "then the BiLM's most frequent); 0: all.")
flags.DEFINE_enum("embedding_dtype", "float16", list(compact.EMBEDDING_DTYPES),
                  "Storage type of the word table.")
flags.DEFINE_integer("xla_max_tokens", 0, "> 0: one-sentence requests of at most this many "
                     "tokens run XLA-compiled (TF Serving then needs "
                     "--xla_cpu_compilation_enabled=true); 0: off, for any TF Serving.")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")

flags.DEFINE_string("min_entity_score", "0", "Entities whose lowest tag marginal is under "
                    "this become O (precision for recall): a number in [0, 1), or 'devel', the "
                    "one the run chose on devel (its eval/scores.json). 0: off.")

def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  data = {s: os.path.join(FLAGS.data_dir, f"{s}.tsv") for s in ("train", "devel", "test")}
  config = export.ExportConfig(
      max_words=FLAGS.max_words, embedding_dtype=FLAGS.embedding_dtype,
      xla_max_tokens=FLAGS.xla_max_tokens,
      min_entity_score=entity_threshold.resolve(FLAGS.min_entity_score, FLAGS.run_dir))
  manifest = shipping.package_tagger(
      FLAGS.run_dir, FLAGS.output_dir, FLAGS.name or os.path.basename(
          os.path.normpath(FLAGS.output_dir)), data, FLAGS.data_terms, config,
      FLAGS.entity_type, FLAGS.overwrite, started)
  logging.info("%s: %s; test F1 %.2f", FLAGS.output_dir, ", ".join(manifest["entity_types"]),
               manifest["scores"]["test"]["micro"]["f1"])


def run():
  flags.mark_flags_as_required(["run_dir", "output_dir", "data_dir", "data_terms"])
  cli.run(main)


if __name__ == "__main__":
  run()
