"""Tags raw text, PubTator or CoNLL files with a SavedModel or a training run directory.

  python tools/predict.py --model=exports/ncbi/1 --input=abstracts.txt --output=out.jsonl
  python tools/predict.py --model=runs/ncbi_disease --input=docs.pubtator \
      --input_format=pubtator --output=tagged.pubtator --output_format=pubtator

Formats and offsets: tf_bilm_ner/serving/tag_documents.py. Streams the input (memory bounded
by one batch), logs progress, and writes the output under a temporary name,
renamed when complete.
"""
import os

from absl import app, flags, logging

from tf_bilm_ner import files
from tf_bilm_ner.errors import FileError
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.serving import tag_documents

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A SavedModel version directory (<export_dir>/<version>) or "
                    "a train_tagger run directory (its best checkpoint).")
flags.DEFINE_list("input", None, "Input files or globs, comma-separated.")
flags.DEFINE_enum("input_format", "text", tag_documents.INPUT_FORMATS,
                  "text: a document per line; text_files: a document per file; pubtator; conll.")
flags.DEFINE_string("output", None, "Output file.")
flags.DEFINE_enum("output_format", "jsonl", tag_documents.OUTPUT_FORMATS, "jsonl, pubtator or conll.")


def _inputs():
  try:
    return files.expand_inputs(FLAGS.input)
  except FileError as err:
    raise app.UsageError(f"--input: {err}") from None


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if FLAGS.input_format == "conll" and FLAGS.output_format == "pubtator":
    raise app.UsageError("--input_format=conll has no text for PubTator offsets; use "
                         "--output_format=jsonl or conll")
  inputs = _inputs()
  out_dir = os.path.dirname(os.path.abspath(FLAGS.output))
  if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
    raise app.UsageError(f"--output: directory missing or not writable: {out_dir}")
  if not os.path.isdir(FLAGS.model):
    raise app.UsageError(f"--model: directory not found: {FLAGS.model}")
  try:
    annotator = tag_documents.Annotator(FLAGS.model)
    counts = tag_documents.annotate(inputs, FLAGS.input_format, FLAGS.output, FLAGS.output_format,
                               annotator)
  except UserError as err:
    raise app.UsageError(str(err)) from None
  logging.info("tagged %d documents/sentences, %d entities -> %s", counts["documents"],
               counts["entities"], FLAGS.output)


def run():
  flags.mark_flags_as_required(["model", "input", "output"])
  app.run(main)


if __name__ == "__main__":
  run()
