"""Packs corpus shards into one numpy file for pretraining away from TensorFlow.

  python tools/pack_lm_corpus.py --shards_dir=runs/corpus/cased52m_v2 \
      --vocab_dir=checkpoints/biomed52m_u384_3epoch/vocab --output=runs/packed/cased52m.npz.xz

Every distinct token goes through the graph's own featurisation with the given vocabularies
(`data/packed_corpus.py`), so a trainer that reads the file (`tools/train_bilm_torch.py`)
sees the ids the Keras BiLM would. Writes --output atomically and --output.json beside it
(shards manifest, vocabularies and their sha256, counts, provenance).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import glob
import os

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data import packed_corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.data.sharding import CorpusError

FLAGS = flags.FLAGS
flags.DEFINE_string("shards_dir", None, "A shard_corpus output: train-*.txt and valid-*.txt.")
flags.DEFINE_string("vocab_dir", None, "Directory with words.txt (LM vocabulary) and chars.txt.")
flags.DEFINE_integer("max_chars_per_token", 32, "Characters kept per token (the encoder's).")
flags.DEFINE_integer("max_tokens_per_line", 256, "Longer lines are cut.")
flags.DEFINE_string("output", None, "File to write (.npz.xz).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  words_path, chars_path = (os.path.join(FLAGS.vocab_dir, n) for n in ("words.txt", "chars.txt"))
  featurizer = Featurizer(vocab_lib.Vocabulary.load(words_path, reserved=LM_RESERVED),
                          vocab_lib.Vocabulary.load(chars_path), FLAGS.max_chars_per_token)
  splits = {name: sorted(glob.glob(os.path.join(FLAGS.shards_dir, f"{name}-*.txt")))
            for name in ("train", "valid")}
  for name, paths in splits.items():
    if not paths:
      raise CorpusError(f"{FLAGS.shards_dir}: no {name}-*.txt shards (a shard_corpus output "
                        "directory was expected)")
  arrays = packed_corpus.pack(splits, featurizer, FLAGS.max_tokens_per_line)
  packed_corpus.save(FLAGS.output, arrays)
  info = packed_corpus.describe(arrays)
  info.update(shards_manifest=os.path.join(FLAGS.shards_dir, "manifest.json"),
              vocab_sha256_prefix={p: provenance.sha256_prefix(p)
                                   for p in (words_path, chars_path)},
              max_chars_per_token=FLAGS.max_chars_per_token,
              output_sha256_prefix=provenance.sha256_prefix(FLAGS.output),
              provenance=provenance.record(splits["train"] + splits["valid"]))
  files.write_json_atomic(FLAGS.output + ".json", info)
  logging.info("wrote %s: %s", FLAGS.output, info["counts"])


def run():
  flags.mark_flags_as_required(["shards_dir", "vocab_dir", "output"])
  cli.run(main)


if __name__ == "__main__":
  run()
