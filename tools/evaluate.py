"""Scores a trained tagger on a CoNLL/IOB2 file (conlleval's entity-level P/R/F1).

  python tools/evaluate.py --run_dir=runs/ncbi --data=path/test.tsv \
      --predictions_out=runs/ncbi/test.conll --scores_out=runs/ncbi/test_scores.json
  tf-bilm-evaluate --model=disease --data=my_annotations.tsv     # a shipped tagger, or a
                                                                 # SavedModel, as served

The predictions file has `token<TAB>gold<TAB>predicted` lines, which conlleval
and seqeval-based scorers read, so any external scorer can check our numbers.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags, logging

from tf_bilm_ner import entity_threshold, files, provenance
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.evaluation import evaluate_file, evaluate_model

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory written by train_tagger.")
flags.DEFINE_string("model", None, "Instead of --run_dir: a shipped tagger's name "
                    "(checkpoints/) or a SavedModel version directory, scored through its "
                    "serving signature, as served.")
flags.DEFINE_string("data", None, "File with gold tags: CoNLL in any tagging scheme (IOB2, "
                    "IOB1, IOBES, untyped B/I/O) or PubTator with annotations.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "The entity type of untyped B/I/O "
                    "tags.")
flags.DEFINE_enum("checkpoint", "best", ["best", "ckpt"],
                  "best: the best devel-F1 checkpoint; ckpt: the latest one.")
flags.DEFINE_string("predictions_out", None, "Write token/gold/predicted CoNLL here.")
flags.DEFINE_string("scores_out", None, "Write scores and provenance as JSON here.")
flags.DEFINE_string("min_entity_score", "0", "Drop predicted entities whose lowest tag "
                    "marginal is under this number in [0, 1), as an export with the same "
                    "option does; 'devel': the score the run chose on devel at the end of "
                    "training. 0 keeps every entity.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if (FLAGS.run_dir is None) == (FLAGS.model is None):
    raise app.UsageError("give --run_dir or --model (one of them)")
  if not os.path.isfile(FLAGS.data):
    raise UserError(f"--data: {FLAGS.data}: file not found")
  for flag in ("predictions_out", "scores_out"):
    out = getattr(FLAGS, flag)
    if out and not os.access(os.path.dirname(os.path.abspath(out)), os.W_OK):
      raise UserError(f"--{flag}: {os.path.dirname(out)}: directory not writable")
  if FLAGS.model and FLAGS.min_entity_score == "devel":
    raise app.UsageError("--min_entity_score=devel reads a run's choice: give --run_dir")
  min_score = entity_threshold.resolve(FLAGS.min_entity_score, FLAGS.run_dir)
  started = time.time()
  if FLAGS.model:
    scores = evaluate_model(FLAGS.model, FLAGS.data, FLAGS.predictions_out, FLAGS.entity_type,
                            min_score)
  else:
    scores = evaluate_file(FLAGS.run_dir, FLAGS.data, FLAGS.predictions_out, FLAGS.checkpoint,
                           FLAGS.entity_type, min_score)
  scores["provenance"] = provenance.record([FLAGS.data], started=started)
  if FLAGS.scores_out:
    files.write_json_atomic(FLAGS.scores_out, scores)
  m = scores["micro"]
  logging.info("precision %.2f recall %.2f F1 %.2f", m["precision"], m["recall"], m["f1"])


def run():
  flags.mark_flags_as_required(["data"])
  cli.run(main)


if __name__ == "__main__":
  run()
