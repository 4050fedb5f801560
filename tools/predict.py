"""Tags raw text, PubTator or CoNLL with one or several models: shipped taggers by name,
SavedModels or training run directories.

  tf-bilm-predict --model=bc5cdr --text="Cisplatin causes nephrotoxicity."
  tf-bilm-predict --model=disease,gene --input=abstracts.txt --output=out.jsonl
  cat abstracts.txt | tf-bilm-predict --model=all --input=-
  python tools/predict.py --model=runs/ncbi_disease --input=docs.pubtator \
      --input_format=pubtator --output=tagged.pubtator --output_format=pubtator

Formats, offsets and how several models' spans combine: tf_bilm_ner/serving/tag_documents.py
and text_tagger.py. Streams the input (memory bounded by one batch), logs progress, and
writes the output under a temporary name, renamed when complete (stdout: as it goes).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os

from absl import app, flags, logging

from tf_bilm_ner import files
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.serving import tag_documents, text_tagger

FLAGS = flags.FLAGS
flags.DEFINE_list("model", None, "Models, comma-separated: names of shipped taggers "
                  "(checkpoints/), 'all' for every one, SavedModel version directories "
                  "(<export_dir>/<version>) or train_tagger run directories.")
flags.DEFINE_list("input", None, "Input files or globs, comma-separated; - for stdin.")
flags.DEFINE_string("text", None, "Tag this one document instead of --input.")
flags.DEFINE_enum("input_format", "text", tag_documents.INPUT_FORMATS,
                  "text: a document per line; text_files: a document per file; pubtator; conll.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "CoNLL input: the entity type of "
                    "untyped B/I/O gold tags.")
flags.DEFINE_string("output", "-", "Output file; - for stdout.")
flags.DEFINE_enum("output_format", "jsonl", tag_documents.OUTPUT_FORMATS, "jsonl, pubtator or conll.")


def _check_flags():
  if (FLAGS.input is None) == (FLAGS.text is None):
    raise app.UsageError("give --input or --text (one of them)")
  if FLAGS.text is not None and FLAGS.input_format != "text":
    raise app.UsageError("--text is raw text: leave --input_format at 'text'")
  if FLAGS.input_format == "conll" and FLAGS.output_format == "pubtator":
    raise app.UsageError("--input_format=conll has no text for PubTator offsets; use "
                         "--output_format=jsonl or conll")
  if FLAGS.output != files.STDIN:
    out_dir = os.path.dirname(os.path.abspath(FLAGS.output))
    if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
      raise UserError(f"--output: {out_dir}: directory missing or not writable")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  _check_flags()
  inputs = files.expand_inputs(FLAGS.input) if FLAGS.input else []
  tagger = text_tagger.load_tagger(FLAGS.model)
  counts = tag_documents.annotate(inputs, FLAGS.input_format, FLAGS.output, FLAGS.output_format,
                                  tagger, text=FLAGS.text, entity_type=FLAGS.entity_type)
  logging.info("tagged %d documents/sentences with %s, %d entities -> %s", counts["documents"],
               ", ".join(tagger.names), counts["entities"], FLAGS.output)


def run():
  flags.mark_flags_as_required(["model"])
  cli.run(main)


if __name__ == "__main__":
  run()
