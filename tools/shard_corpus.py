"""Splits unlabeled text (one tokenised sentence per line, or raw text) into shuffled shards.

  python tools/shard_corpus.py --inputs='../shared/data/unlabeled/*.txt' \
      --output_dir=runs/corpus --num_shards=16 --valid_fraction=0.01

Raw text (PubMed abstracts, a document or paragraph per line): add --tokenize.

Writes train-XXXXX-of-NNNNN.txt, valid-00000-of-00001.txt and manifest.json
(inputs with sha256, counts of everything skipped, split or cut).
Never shard test text: it would leak into the language model.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

from absl import app, flags

from tf_bilm_ner.data import sharding

FLAGS = flags.FLAGS
flags.DEFINE_list("inputs", None, "Comma-separated files or globs (plain text or .gz).")
flags.DEFINE_string("output_dir", None, "Directory to create.")
flags.DEFINE_integer("num_shards", 16, "Training shards; a shard must fit in memory to shuffle.")
flags.DEFINE_float("valid_fraction", 0.01, "Fraction of lines held out for validation.")
flags.DEFINE_integer("seed", 1, "Seed for assignment and shuffling.")
flags.DEFINE_integer("max_tokens_per_line", 256, "Longer lines are split.")
flags.DEFINE_integer("max_chars_per_token", 50, "Longer tokens are cut.")
flags.DEFINE_bool("tokenize", False, "Inputs are raw text (a document or paragraph per line): "
                  "split sentences and tokenise them as inference does on raw text.")
flags.DEFINE_list("keep_tokens", [], "With --tokenize: inputs (globs) already tokenised one "
                  "sentence per line, taken as they are (e.g. text in a benchmark's own "
                  "tokenisation, which taggers are trained on).")
flags.DEFINE_bool("overwrite", False, "Replace an existing --output_dir.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  sharding.shard_corpus(FLAGS.inputs, FLAGS.output_dir, FLAGS.num_shards,
                        FLAGS.valid_fraction, FLAGS.seed, FLAGS.max_tokens_per_line,
                        FLAGS.max_chars_per_token, FLAGS.overwrite,
                        tokenize=FLAGS.tokenize, keep_tokens=FLAGS.keep_tokens)


def run():
  flags.mark_flags_as_required(["inputs", "output_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
