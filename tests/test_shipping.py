"""Shipping a tagger: a compact SavedModel plus manifest, scored as shipped, found by name.

The reference for the shipped scores is the run directory's own evaluation (the eager Keras
model through evaluation.evaluate_file): a full-precision package must score the same.
"""
import json
import os
import shutil
import tempfile
from unittest import mock

import tensorflow as tf

from tests.helpers import TESTDATA, make_run_dir
from tf_bilm_ner import provenance
from tf_bilm_ner.config import TrainConfig
from tf_bilm_ner.errors import OutputExistsError, UserError
from tf_bilm_ner.evaluation import evaluate_file
from tf_bilm_ner.serving import export, shipping, text_tagger

DATA = {"train": os.path.join(TESTDATA, "ncbi_train_head.tsv"),
        "devel": os.path.join(TESTDATA, "ncbi_devel_head.tsv"),
        "test": os.path.join(TESTDATA, "ncbi_devel_head.tsv")}


class ShippingTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    cls.run_dir = os.path.join(cls.tmp, "run")
    make_run_dir(cls.run_dir)
    TrainConfig(seed=3, init_from_bilm="/somewhere/biomed5m_10epoch").save(
        os.path.join(cls.run_dir, "train_config.json"))
    os.makedirs(os.path.join(cls.run_dir, "eval"))
    scores = {s: evaluate_file(cls.run_dir, DATA[s]) for s in ("devel", "test")}
    scores.update(best_epoch=4, provenance=provenance.record(list(DATA.values())))
    with open(os.path.join(cls.run_dir, "eval", "scores.json"), "w") as f:
      json.dump(scores, f)
    cls.run_scores = scores

  def test_full_precision_package_scores_as_the_run(self):
    out = os.path.join(self.get_temp_dir(), "disease")
    manifest = shipping.package_tagger(self.run_dir, out, "disease", DATA, "public domain",
                                       export.ExportConfig())
    for split in ("devel", "test"):
      self.assertEqual(manifest["scores"][split], self.run_scores[split])
    self.assertEqual(manifest["entity_types"], ["Disease"])
    self.assertEqual((manifest["name"], manifest["kind"], manifest["init_from_bilm"],
                      manifest["seed"], manifest["best_epoch"]),
                     ("disease", "tagger", "biomed5m_10epoch", 3, 4))
    self.assertEqual(manifest["training_data"]["terms"], "public domain")
    self.assertEqual(sorted(manifest["training_data"]["files"]), ["devel", "test", "train"])
    self.assertEqual(manifest["training_data"]["trained_on"], ["train"])
    self.assertEqual(shipping.check_package(out), manifest)
    self.assertIn("saved_model.pb", manifest["files_sha256_prefix"])
    self.assertEqual(os.listdir(self.get_temp_dir()), ["disease"])  # no build leftovers
    with self.assertRaisesRegex(OutputExistsError, "exists; pass --overwrite"):
      shipping.package_tagger(self.run_dir, out, "disease", DATA, "", export.ExportConfig())
    # Found by name when it lies in the shipped directory; damage is caught by the check.
    with mock.patch.object(text_tagger, "SHIPPED_DIR", self.get_temp_dir()):
      self.assertEqual(text_tagger.resolve("disease"), [("disease", out)])
    with open(os.path.join(out, "assets", "tags.txt"), "a") as f:
      f.write("B-Extra\n")
    with self.assertRaisesRegex(UserError, "tags.txt: sha256 .* is not the manifest's"):
      shipping.check_package(out)

  def test_a_tagger_trained_on_devel_has_no_devel_score(self):
    """The final-model protocol (train + devel): devel is not held out, so the manifest says
    what the tagger was trained on and scores test alone."""
    run_dir = os.path.join(self.get_temp_dir(), "final_run")
    shutil.copytree(self.run_dir, run_dir)
    TrainConfig(seed=3, train_on_devel=True, max_epochs=5).save(
        os.path.join(run_dir, "train_config.json"))
    scores = {"test": self.run_scores["test"], "best_epoch": 5, "epochs_run": 5,
              "train_on_devel": True}
    with open(os.path.join(run_dir, "eval", "scores.json"), "w") as f:
      json.dump(scores, f)
    out = os.path.join(self.get_temp_dir(), "final")
    manifest = shipping.package_tagger(run_dir, out, "final", DATA, "public domain",
                                       export.ExportConfig())
    self.assertEqual(manifest["training_data"]["trained_on"], ["train", "devel"])
    self.assertEqual(list(manifest["scores"]), ["test"])
    self.assertEqual(manifest["scores"]["test"], self.run_scores["test"])
    self.assertEqual(list(manifest["run_scores"]), ["test"])
    self.assertEqual((manifest["best_epoch"], manifest["epochs_run"]), (5, 5))

  def test_compact_package_and_binary(self):
    out = os.path.join(self.get_temp_dir(), "small")
    from tests.helpers import run_tool  # pylint: disable=g-import-not-at-top
    data_dir = os.path.join(self.get_temp_dir(), "data")
    os.makedirs(data_dir)
    for split, path in DATA.items():
      os.symlink(path, os.path.join(data_dir, f"{split}.tsv"))
    proc = run_tool("package_tagger.py", f"--run_dir={self.run_dir}", f"--output_dir={out}",
                    f"--data_dir={data_dir}", "--data_terms=test data", "--max_words=50")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    manifest = shipping.check_package(out)
    self.assertEqual((manifest["export_config"]["max_words"],
                      manifest["export_config"]["embedding_dtype"]), (50, "float16"))
    with open(os.path.join(out, "assets", "words.txt")) as f:
      self.assertLen(f.read().splitlines(), 50)
    self.assertEqual(manifest["scores"]["test"],
                     shipping.score_saved_model(out, DATA["test"]))  # as shipped
    self.assertEqual(manifest["run_scores"]["test"], self.run_scores["test"])
    proc = run_tool("package_tagger.py", f"--run_dir={self.tmp}", f"--output_dir={out}2",
                    f"--data_dir={data_dir}", "--data_terms=x")
    self.assertEqual(proc.returncode, 1)
    self.assertIn("not a finished train_tagger run", proc.stderr.splitlines()[-1])


if __name__ == "__main__":
  tf.test.main()
