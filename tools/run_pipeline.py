"""The whole method on one corpus: a BiLM (the shipped one by default, or pretrained here),
taggers from BiLM and from random initialisation, both evaluated, a SavedModel exported and a
sample text tagged.

  python tools/run_pipeline.py                       # embedded NCBI-disease, ~10 min, 2 cores
  python tools/run_pipeline.py --preset=scratch      # pretrain a small BiLM on its text first
  U=../shared/data/unlabeled
  python tools/run_pipeline.py --preset=full --run_dir=runs/pipeline_full \
      --data_dir=../shared/data/NCBI-disease-IOB \
      --unlabeled=$U/external_biomed_text.txt,$U/ner_train_text.txt,$U/ner_devel_text.txt

The second runs the configuration behind results/README.md; with the unlabeled files in that
order it writes the same shards as the shipped BiLM's (checkpoints/biomed5m_10epoch/manifest.json).

Rerun the same command to resume; finished stages are skipped. The summary table (BiLM
perplexity, devel and test scores of both taggers, the export, the sample's entities with
character offsets) is logged and saved as <run_dir>/summary.json.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import dataclasses

from absl import app, flags, logging

from tf_bilm_ner import pipeline
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", "runs/pipeline", "Everything goes here; rerun to resume.")
flags.DEFINE_enum("preset", "default", list(pipeline.PRESETS),
                  "default: the shipped BiLM fine-tuned into a tagger, against random init, "
                  "about 10 minutes on 2 CPU cores; scratch: a small BiLM pretrained on the "
                  "corpus's own text first; full: the configuration behind results/README.md.")
flags.DEFINE_string("bilm", None, "Start from this BiLM (a shipped name or a path) instead of "
                    "the preset's; 'none': pretrain one from scratch.")
flags.DEFINE_integer("adapt_epochs", None, "With a BiLM to start from: epochs of continued "
                     "pretraining on the unlabeled text before fine-tuning (default: the "
                     "preset's).")
flags.DEFINE_string("data_dir", NCBI_DISEASE_DIR, "Directory with train.tsv, devel.tsv, test.tsv "
                    "(CoNLL in IOB2, IOB1, IOBES or untyped B/I/O, or PubTator with "
                    "annotations). Default: the embedded NCBI-disease corpus.")
flags.DEFINE_list("unlabeled", None, "Comma-separated files or globs of unlabeled text, one "
                  "tokenised sentence per line, in this order (it decides the shards). Default: "
                  "the train and devel sentences of --data_dir.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "The entity type of untyped B/I/O "
                    "tags in --data_dir.")
flags.DEFINE_integer("seed", 1, "Seed of the taggers (and of the BiLM in the default preset).")
flags.DEFINE_bool("overwrite", False, "Replace a pipeline run with another config in --run_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = pipeline.preset(FLAGS.preset, FLAGS.seed)
  if FLAGS.bilm is not None:
    config = dataclasses.replace(config, bilm_source="" if FLAGS.bilm == "none" else FLAGS.bilm)
  if FLAGS.adapt_epochs is not None:
    config = dataclasses.replace(config, adapt_epochs=FLAGS.adapt_epochs)
  summary = pipeline.run(FLAGS.run_dir, config, FLAGS.data_dir, FLAGS.unlabeled or None,
                         FLAGS.overwrite, FLAGS.entity_type)
  logging.info("pipeline done (%s):\n%s", FLAGS.run_dir, pipeline.table(summary))


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
