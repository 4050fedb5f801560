"""The BiLM shipped in checkpoints/: complete, as its manifest says, within the size budget,
and transferable into a tagger by name."""
import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from tf_bilm_ner import provenance
from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.transfer import packaging
from tf_bilm_ner.transfer import surgery

NAME = "biomed5m_10epoch"
MAX_BYTES = 100 * 2**20  # all of checkpoints/ (issue #16)


class ShippedBiLMTest(tf.test.TestCase):

  def test_listed_and_within_budget(self):
    self.assertIn(NAME, surgery.shipped())
    directory = os.path.join(surgery.SHIPPED_DIR, NAME)
    with open(os.path.join(directory, packaging.MANIFEST)) as f:
      manifest = json.load(f)
    self.assertEqual(manifest["dtype"], "float16")
    self.assertEqual(manifest["epochs"], 10)
    self.assertLen(manifest["valid_perplexity"], 10)
    for path, digest in manifest["files_sha256_prefix"].items():  # nothing changed or missing
      self.assertEqual(provenance.sha256_prefix(os.path.join(directory, path)), digest, path)
    total = sum(os.path.getsize(os.path.join(d, n))
                for d, _, names in os.walk(os.path.join(surgery.SHIPPED_DIR)) for n in names)
    self.assertLess(total, MAX_BYTES)

  def test_every_shipped_bilm_matches_its_manifest(self):
    for name in surgery.shipped():
      directory = os.path.join(surgery.SHIPPED_DIR, name)
      with open(os.path.join(directory, packaging.MANIFEST)) as f:
        manifest = json.load(f)
      packaged = {os.path.relpath(os.path.join(d, n), directory)
                  for d, _, names in os.walk(directory) for n in names} - {packaging.MANIFEST}
      self.assertEqual(packaged, set(manifest["files_sha256_prefix"]), name)  # none extra
      for path, digest in manifest["files_sha256_prefix"].items():
        self.assertEqual(provenance.sha256_prefix(os.path.join(directory, path)), digest, path)
      surgery.load_source(name)  # loads by name

  def test_transfers_into_a_tagger_by_name(self):
    source = surgery.load_source(NAME)
    train = read_conll(os.path.join(NCBI_DISEASE_DIR, "train.tsv"))
    words, chars, tags = vocab_lib.build_vocabularies([s.tokens for s in train],
                                                      [s.tags for s in train])
    words, chars = surgery.extend(words, source.words), surgery.extend(chars, source.chars)
    config = TaggerConfig(encoder=dataclasses.replace(
        source.config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars)),
        num_tags=len(tags))
    tagger = Tagger(config)
    checkpoints.build_variables(tagger)
    report = surgery.transfer(tagger.encoder, words, chars, source)
    self.assertEqual(report.words_mapped + report.words_fresh, len(words))
    self.assertGreater(report.words_mapped, 0.6 * len(words))
    reader = tf.train.load_checkpoint(source.checkpoint)
    for short, get in surgery.ENCODER_VARIABLES.items():
      want = reader.get_tensor(f"model/encoder/{short}{surgery.SUFFIX}")
      self.assertEqual(want.dtype, np.float16)
      if "embeddings" not in short:
        self.assertAllEqual(get(tagger.encoder).numpy(), want.astype(np.float32))
    row = words.id("disease")
    self.assertAllEqual(tagger.encoder.word_embedding.embeddings.numpy()[row],
                        reader.get_tensor("model/encoder/word_embedding/embeddings"
                                          + surgery.SUFFIX)[source.words.id("disease")])


if __name__ == "__main__":
  tf.test.main()
