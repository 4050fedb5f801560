"""The whole method on one corpus: shard and pretrain a BiLM, train taggers from BiLM and from
random initialisation, evaluate both, export a SavedModel and tag a sample text.

  python tools/run_pipeline.py                       # embedded NCBI-disease, ~10 min, 2 cores
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
from absl import app, flags, logging

from tf_bilm_ner import pipeline
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", "runs/pipeline", "Everything goes here; rerun to resume.")
flags.DEFINE_enum("preset", "default", ["default", "full"],
                  "default: small settings, about 10 minutes on 2 CPU cores; full: the "
                  "configuration behind results/README.md.")
flags.DEFINE_string("data_dir", NCBI_DISEASE_DIR, "Directory with train.tsv, devel.tsv, test.tsv "
                    "(CoNLL/IOB2). Default: the embedded NCBI-disease corpus.")
flags.DEFINE_list("unlabeled", None, "Comma-separated files or globs of unlabeled text, one "
                  "tokenised sentence per line, in this order (it decides the shards). Default: "
                  "the train and devel sentences of --data_dir.")
flags.DEFINE_integer("seed", 1, "Seed of the taggers (and of the BiLM in the default preset).")
flags.DEFINE_bool("overwrite", False, "Replace a pipeline run with another config in --run_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    summary = pipeline.run(FLAGS.run_dir, pipeline.preset(FLAGS.preset, FLAGS.seed),
                           FLAGS.data_dir, FLAGS.unlabeled or None, FLAGS.overwrite)
  except UserError as err:
    raise app.UsageError(str(err)) from None
  logging.info("pipeline done (%s):\n%s", FLAGS.run_dir, pipeline.table(summary))


def run():
  app.run(main)


if __name__ == "__main__":
  run()
