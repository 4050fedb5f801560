"""The whole method on one corpus: shard and pretrain a BiLM, train taggers from BiLM and from
random initialisation, evaluate both, export a SavedModel and tag a sample text.

  python tools/run_pipeline.py                       # embedded NCBI-disease, ~10 min, 2 cores
  python tools/run_pipeline.py --preset=full --run_dir=runs/pipeline_full \
      --data_dir=../shared/data/NCBI-disease-IOB --unlabeled='../shared/data/unlabeled/*.txt'

Rerun the same command to resume; finished stages are skipped. The summary table (BiLM
perplexity, devel and test scores of both taggers, the export, the sample's entities with
character offsets) is logged and saved as <run_dir>/summary.json.
"""
import glob

from absl import app, flags, logging

from tf_bilm_ner import pipeline
from tf_bilm_ner.annotate import InputError
from tf_bilm_ner.config import ConfigError
from tf_bilm_ner.data.conll import ConllFormatError
from tf_bilm_ner.data.sharding import CorpusError
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.run_dir import RunDirError
from tf_bilm_ner.transfer import TransferError

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", "runs/pipeline", "Everything goes here; rerun to resume.")
flags.DEFINE_enum("preset", "default", ["default", "full"],
                  "default: small settings, about 10 minutes on 2 CPU cores; full: the "
                  "configuration behind results/README.md.")
flags.DEFINE_string("data_dir", NCBI_DISEASE_DIR, "Directory with train.tsv, devel.tsv, test.tsv "
                    "(CoNLL/IOB2). Default: the embedded NCBI-disease corpus.")
flags.DEFINE_string("unlabeled", None, "Comma-separated globs of unlabeled text, one tokenised "
                    "sentence per line. Default: the train and devel sentences of --data_dir.")
flags.DEFINE_integer("seed", 1, "Seed of the taggers (and of the BiLM in the default preset).")
flags.DEFINE_bool("overwrite", False, "Replace a pipeline run with another config in --run_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  unlabeled = None
  if FLAGS.unlabeled:
    unlabeled = sorted(f for pattern in FLAGS.unlabeled.split(",") for f in glob.glob(pattern))
    if not unlabeled:
      raise app.UsageError(f"--unlabeled: {FLAGS.unlabeled} matches no file")
  try:
    summary = pipeline.run(FLAGS.run_dir, pipeline.preset(FLAGS.preset, FLAGS.seed),
                           FLAGS.data_dir, unlabeled, FLAGS.overwrite)
  except (ConfigError, ConllFormatError, CorpusError, InputError, RunDirError,
          TransferError) as err:
    raise app.UsageError(str(err)) from None
  logging.info("pipeline done (%s):\n%s", FLAGS.run_dir, pipeline.table(summary))


def run():
  app.run(main)


if __name__ == "__main__":
  run()
