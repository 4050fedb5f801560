"""Tags raw text, PubTator or CoNLL files with a SavedModel or a training run directory.

  python tools/predict.py --model=exports/ncbi/1 --input=abstracts.txt --output=out.jsonl
  python tools/predict.py --model=runs/ncbi_disease --input=docs.pubtator \
      --input_format=pubtator --output=tagged.pubtator --output_format=pubtator

Formats and offsets: tf_bilm_ner/annotate.py. Streams the input (memory bounded
by one batch), logs progress, and writes the output under a temporary name,
renamed when complete.
"""
import glob
import os

from absl import app, flags, logging

from tf_bilm_ner import annotate
from tf_bilm_ner.config import ConfigError
from tf_bilm_ner.data.conll import ConllFormatError
from tf_bilm_ner.data.vocab import VocabularyError
from tf_bilm_ner.run_dir import RunDirError

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A SavedModel version directory (<export_dir>/<version>) or "
                    "a train_tagger run directory (its best checkpoint).")
flags.DEFINE_list("input", None, "Input files or globs, comma-separated.")
flags.DEFINE_enum("input_format", "text", annotate.INPUT_FORMATS,
                  "text: a document per line; text_files: a document per file; pubtator; conll.")
flags.DEFINE_string("output", None, "Output file.")
flags.DEFINE_enum("output_format", "jsonl", annotate.OUTPUT_FORMATS, "jsonl, pubtator or conll.")


def _inputs():
  paths = []
  for pattern in FLAGS.input:
    matched = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    if not matched:
      raise app.UsageError(f"--input: {pattern} matches no file")
    paths += matched
  return paths


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
    annotator = annotate.Annotator(FLAGS.model)
    counts = annotate.annotate(inputs, FLAGS.input_format, FLAGS.output, FLAGS.output_format,
                               annotator)
  except (annotate.InputError, ConllFormatError, ConfigError, RunDirError,
          VocabularyError) as err:
    raise app.UsageError(str(err)) from None
  logging.info("tagged %d documents/sentences, %d entities -> %s", counts["documents"],
               counts["entities"], FLAGS.output)


def run():
  flags.mark_flags_as_required(["model", "input", "output"])
  app.run(main)


if __name__ == "__main__":
  run()
