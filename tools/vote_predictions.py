"""Scores a majority vote of several taggers' predictions of one CoNLL file (an entity is
kept when more than half of them predict it exactly: tf_bilm_ner/ensemble.py), beside each
tagger's own score.

  python tools/vote_predictions.py --gold=../shared/data/NCBI-disease-IOB/test.tsv \\
      --predictions=results/tagger_bilm_init/ncbi_disease/seed1/test_predictions.conll,...\\
      --out=results/ensembles/ncbi_disease_bilm_init.json

Each predictions file holds token, gold and predicted tag per line (what train_tagger and
evaluate write); its tokens must be the gold file's.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import time

from absl import app, flags, logging

from tf_bilm_ner import ensemble, files, metrics, provenance
from tf_bilm_ner.data import formats
from tf_bilm_ner.data.conll import ConllFormatError, read_conll, write_conll
from tf_bilm_ner.evaluation import score_dict

FLAGS = flags.FLAGS
flags.DEFINE_string("gold", None, "The gold CoNLL file.")
flags.DEFINE_list("predictions", None, "Prediction files (token, gold, predicted), one per "
                  "tagger.")
flags.DEFINE_string("out", None, "Write the scores JSON here.")
flags.DEFINE_string("output_conll", None, "Write the voted predictions here (token, gold, "
                    "predicted).")
flags.mark_flags_as_required(["gold", "predictions"])


def read_predictions(path: str, gold) -> list:
  """The predicted tags of `path`, checked token by token against the gold sentences."""
  sentences = read_conll(path)
  if len(sentences) != len(gold):
    raise ConllFormatError(path, None, f"{len(sentences)} sentences, the gold file has "
                           f"{len(gold)}")
  for pred, ref in zip(sentences, gold):
    if pred.tokens != ref.tokens:
      raise ConllFormatError(path, pred.line, "tokens differ from the gold file's sentence "
                             f"at its line {ref.line}")
  return [s.tags for s in sentences]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  gold = formats.read_labeled(FLAGS.gold)
  gold_tags = [s.tags for s in gold]
  runs = [read_predictions(p, gold) for p in FLAGS.predictions]
  voted = [ensemble.vote(tags) for tags in zip(*runs)]
  result = {"predictions": FLAGS.predictions, "taggers": []}
  for path, tags in zip(FLAGS.predictions, runs):
    micro, per_type = metrics.entity_scores(gold_tags, tags)
    result["taggers"].append(score_dict(micro, per_type))
    logging.info("%s: F1 %.2f", path, micro.f1)
  micro, per_type = metrics.entity_scores(gold_tags, voted)
  result["vote"] = score_dict(micro, per_type)
  logging.info("majority vote of %d: P/R/F1 %.2f/%.2f/%.2f", len(runs), micro.precision,
               micro.recall, micro.f1)
  if FLAGS.output_conll:
    write_conll(FLAGS.output_conll, gold, voted)
  result["provenance"] = provenance.record([FLAGS.gold, *FLAGS.predictions], started=started)
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, result)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
