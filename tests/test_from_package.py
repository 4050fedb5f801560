"""A tagger export's module rebuilt from the SavedModel alone (`serving/from_package.py`): the
same outputs as the package, other export options, and clear errors on other directories."""
import dataclasses
import os
import shutil
import tempfile

import tensorflow as tf

from tests.helpers import TESTDATA, make_run_dir
from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.serving import export, from_package

SENTENCES = [s.tokens for s in read_conll(os.path.join(TESTDATA, "ncbi_devel_head.tsv"))][:9]


def _batch(sentences):
  width = max(len(s) for s in sentences)
  return {"tokens": tf.constant([list(s) + [""] * (width - len(s)) for s in sentences]),
          "lengths": tf.constant([len(s) for s in sentences], tf.int32)}


class FromPackageTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    run_dir = os.path.join(tmp, "run")
    make_run_dir(run_dir, seed=3)
    # As the shipped taggers: the word table cut and stored in float16.
    cls.path = export.export(run_dir, os.path.join(tmp, "export"), export_config=(
        export.ExportConfig(max_words=50, embedding_dtype="float16", max_tokens=61)))

  def test_same_outputs_as_the_package(self):
    module = from_package.module_from_package(self.path)
    self.assertEqual(module.limits, export.ExportConfig.load(
        os.path.join(self.path, "assets.extra", "export_config.json")))
    loaded = tf.saved_model.load(self.path).signatures
    mine = module.signatures()
    got = mine["serving_default"](**_batch(SENTENCES))
    want = loaded["serving_default"](**_batch(SENTENCES))
    self.assertAllEqual(got["tags"], want["tags"])
    self.assertAllEqual(got["tag_ids"], want["tag_ids"])
    self.assertAllClose(got["tag_confidence"], want["tag_confidence"], atol=1e-6)
    text = tf.constant([" ".join(s) for s in SENTENCES[:3]])
    got, want = mine["tag_text"](text=text), loaded["tag_text"](text=text)
    for key in ("entity_start", "entity_end", "entity_type", "num_entities"):
      self.assertAllEqual(got[key], want[key], msg=key)

  def test_other_export_options(self):
    """xla_max_tokens on a package: one sentence through the XLA path, the package's tags."""
    module = from_package.module_from_package(self.path, export.ExportConfig(xla_max_tokens=16))
    self.assertEqual(module.limits.xla_max_tokens, 16)
    self.assertEqual(module.limits.embedding_dtype, "float16")  # the package's, kept
    loaded = tf.saved_model.load(self.path).signatures["serving_default"]
    sentence = [s for s in SENTENCES if len(s) <= 16][0]
    got = module.signatures()["serving_default"](**_batch([sentence]))
    self.assertAllEqual(got["tag_ids"], loaded(**_batch([sentence]))["tag_ids"])

  def test_clear_errors(self):
    with self.assertRaisesRegex(from_package.PackageError, "not a tagger export"):
      from_package.module_from_package(self.get_temp_dir())
    bad = os.path.join(self.get_temp_dir(), "bad")
    shutil.copytree(self.path, bad)
    config_path = os.path.join(bad, "assets.extra", "tagger_config.json")
    config = TaggerConfig.load(config_path)
    dataclasses.replace(config, encoder=dataclasses.replace(
        config.encoder, lstm_units=config.encoder.lstm_units + 2)).save(config_path)
    with self.assertRaisesRegex(from_package.PackageError, "do not match its tagger_config"):
      from_package.module_from_package(bad)


if __name__ == "__main__":
  tf.test.main()
