"""The one-command pipeline end to end at tiny sizes, its resume, and its binary."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import tensorflow as tf

from tests.helpers import TESTDATA
from tf_bilm_ner import pipeline
from tf_bilm_ner.config import (BiLMConfig, BiLMTrainConfig, EncoderConfig, TaggerConfig,
                                TrainConfig)
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.transfer import surgery, warm_start

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(seed=1):
  config = pipeline.preset("scratch", seed)
  encoder = EncoderConfig(word_dim=11, char_dim=5, char_filters=7, lstm_units=13,
                          dropout=0.1, word_dropout=0.0)
  return dataclasses.replace(
      config, bilm=dataclasses.replace(config.bilm, encoder=encoder, num_sampled=7),
      bilm_train=dataclasses.replace(config.bilm_train, epochs=1, batch_tokens=397),
      max_words=300, num_shards=2, valid_fraction=0.1,
      tagger=dataclasses.replace(config.tagger, encoder=dataclasses.replace(
          encoder, dropout=0.5, word_dropout=0.1)),
      train=dataclasses.replace(config.train, max_epochs=2, batch_tokens=397))


def _stored(cls, *parts):
  """A config stored under the checkout, loaded as `cls` (keys added since take defaults)."""
  return cls.load(os.path.join(ROOT, *parts))


def _unsized(config):
  """The config without the sizes that the data decides (vocabularies, tag set)."""
  config = dataclasses.replace(config, encoder=dataclasses.replace(
      config.encoder, char_vocab_size=1, word_vocab_size=1))
  return dataclasses.replace(config, num_tags=0) if hasattr(config, "num_tags") else config


def _weight_files(run_dir):
  """Checkpoint and export files under `run_dir` -> modification time (ns)."""
  out = {}
  for folder, _, names in os.walk(run_dir):
    if any(f"{os.sep}{d}" in folder for d in ("ckpt", "best", "export")):
      for n in names:
        if n.endswith((".index", ".pb")) or ".data-" in n:
          out[os.path.join(folder, n)] = os.stat(os.path.join(folder, n)).st_mtime_ns
  return out


class FullPresetTest(tf.test.TestCase):
  """`--preset=full` is the configuration behind results/README.md: checked against the configs
  stored with the shipped BiLM's pretraining and with the NCBI-disease table runs."""

  def test_matches_the_stored_runs(self):
    full = pipeline.preset("full", seed=1)
    bilm_dir = ("results", "bilm_pretraining", "shared_10epoch")
    bilm = _stored(BiLMConfig, *bilm_dir, "bilm_config.json")
    self.assertEqual(_stored(BiLMConfig, "checkpoints", "biomed5m_10epoch", "bilm_config.json"),
                     bilm)
    self.assertEqual(_unsized(full.bilm), _unsized(bilm))
    self.assertEqual(full.max_words, bilm.encoder.word_vocab_size)
    self.assertEqual(full.bilm_train,
                     _stored(BiLMTrainConfig, *bilm_dir, "bilm_train_config.json"))
    with open(os.path.join(ROOT, *bilm_dir, "shards_manifest.json"), encoding="utf-8") as f:
      shards = json.load(f)
    self.assertEqual((full.num_shards, full.valid_fraction, full.bilm_train.seed),
                     (shards["num_shards"], shards["valid_fraction"], shards["seed"]))
    for init in ("random", "bilm"):
      run = ("results", f"tagger_{init}_init", "ncbi_disease", "seed1")
      train = _stored(TrainConfig, *run, "train_config.json")
      if init == "bilm":
        self.assertEqual(train.encoder_lr_scale, full.bilm_encoder_lr_scale)
        self.assertEqual(os.path.basename(train.init_from_bilm), "biomed5m_10epoch")
        train = dataclasses.replace(train, encoder_lr_scale=full.train.encoder_lr_scale,
                                    init_from_bilm=full.train.init_from_bilm)
      self.assertEqual(full.train, train)
      self.assertEqual(_unsized(full.tagger),
                       _unsized(_stored(TaggerConfig, *run, "tagger_config.json")))


class PipelineTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.data = os.path.join(self.get_temp_dir(), "data")
    os.makedirs(self.data, exist_ok=True)
    for split, fixture in (("train", "ncbi_train_head.tsv"), ("devel", "ncbi_devel_head.tsv"),
                           ("test", "ncbi_devel_head.tsv")):
      shutil.copy(os.path.join(TESTDATA, fixture), os.path.join(self.data, f"{split}.tsv"))

  def test_every_stage_then_resume(self):
    run_dir = os.path.join(self.get_temp_dir(), "pipeline")
    summary = pipeline.run(run_dir, tiny(), self.data)
    self.assertEqual(summary["bilm"]["epochs"], 1)
    self.assertGreater(summary["bilm"]["valid_perplexity_forward"], 1.0)
    for init in ("bilm", "random"):
      self.assertEqual(sorted(summary["taggers"][init]),
                       ["best_epoch", "devel", "entity_threshold", "epochs_run", "provenance",
                        "stopped_early", "test"])
    with open(os.path.join(run_dir, "tagger_bilm", "transfer.json")) as f:
      self.assertGreater(json.load(f)["words_mapped"], 100)  # the BiLM's words reached the tagger
    # The pipeline pretrains through the function train_bilm calls: the same report.json.
    with open(os.path.join(run_dir, "bilm", "report.json")) as f:
      report = json.load(f)
    self.assertEqual(sorted(report), ["finished", "history", "provenance", "shards_manifest",
                                      "starts"])
    self.assertTrue(report["finished"])
    self.assertEqual(len(report["history"]), 1)
    self.assertEqual(report["shards_manifest"], os.path.join(run_dir, "corpus", "manifest.json"))
    self.assertEqual([os.path.basename(p) for p in report["provenance"]["data_files"]],
                     ["unlabeled.txt"])
    self.assertFalse(os.path.exists(os.path.join(run_dir, "tagger_random", "transfer.json")))
    self.assertTrue(os.path.exists(os.path.join(summary["export"], "saved_model.pb")))
    for e in summary["sample"]["entities"]:
      self.assertEqual(pipeline.SAMPLE_TEXT[e["start"]:e["end"]], e["text"])
    with open(os.path.join(run_dir, "unlabeled.txt")) as f:  # train + devel, never test
      self.assertLen(f.readlines(), sum(len(read_conll(os.path.join(self.data, f"{s}.tsv")))
                                        for s in ("train", "devel")))
    self.assertIn("random init", pipeline.table(summary))
    self.assertIn("taggers (bilm and random init, at once)", summary["stage_secs"])
    weights = _weight_files(run_dir)
    self.assertIn(os.path.join(summary["export"], "saved_model.pb"), weights)
    self.assertNotEmpty([p for p in weights if f"bilm{os.sep}ckpt" in p])
    again = pipeline.run(run_dir, tiny(), self.data)  # resumes: every stage already done
    self.assertEqual(again["taggers"], summary["taggers"])
    self.assertEqual(_weight_files(run_dir), weights)  # nothing retrained or re-exported
    with self.assertRaisesRegex(pipeline.run_dir_lib.RunDirError, "different config"):
      pipeline.run(run_dir, tiny(seed=2), self.data)
    self._from_a_pretrained_bilm(os.path.join(run_dir, "bilm"))

  def _from_a_pretrained_bilm(self, bilm):
    """The default preset's path: start from a BiLM (the run above's), as is, or after
    continued pretraining on the corpus's own text."""
    for adapt in (0, 1):
      with self.subTest(adapt_epochs=adapt):
        run_dir = os.path.join(self.get_temp_dir(), f"from_bilm_{adapt}")
        config = dataclasses.replace(tiny(), bilm_source=bilm, adapt_epochs=adapt,
                                     parallel_taggers=bool(adapt))
        summary = pipeline.run(run_dir, config, self.data)
        self.assertEqual("tagger (bilm init)" in summary["stage_secs"], not adapt)
        self.assertEqual((summary["bilm"]["source"], summary["bilm"]["epochs"]), (bilm, adapt))
        self.assertEqual(os.path.exists(os.path.join(run_dir, "bilm")), adapt > 0)
        with open(os.path.join(run_dir, "tagger_bilm", "train_config.json")) as f:
          self.assertEqual(json.load(f)["init_from_bilm"],
                           os.path.join(run_dir, "bilm") if adapt else bilm)
        with open(os.path.join(run_dir, "tagger_bilm", "transfer.json")) as f:
          self.assertGreater(json.load(f)["words_mapped"], 100)
        self.assertIn("continued pretraining", pipeline.table(summary))
        if adapt:  # the source has its softmax: no warm-up (a shipped BiLM would get one)
          with open(os.path.join(run_dir, "bilm", "bilm_train_config.json")) as f:
            self.assertEqual(json.load(f)["softmax_warmup_steps"], 0)
    run, shipped = (surgery.load_source(b).checkpoint for b in (bilm, "biomed5m_10epoch"))
    self.assertTrue(warm_start.has_softmax(run))
    self.assertFalse(warm_start.has_softmax(shipped))
    # A shipped BiLM (no softmax): the warm-up, but never more than half the adaptation.
    config = dataclasses.replace(tiny(), bilm_source="biomed5m_10epoch", adapt_epochs=2)
    batch = config.bilm_train.batch_tokens
    self.assertEqual(pipeline.adapt_warmup_steps(config, shipped, 7 * batch), 7)
    self.assertEqual(pipeline.adapt_warmup_steps(config, shipped, 10**4 * batch),
                     config.adapt_softmax_warmup_steps)
    self.assertEqual(pipeline.adapt_warmup_steps(config, run, 7 * batch), 0)
    with self.assertRaisesRegex(pipeline.ConfigError, "adapt_epochs must be >= 0, and needs"):
      dataclasses.replace(tiny(), adapt_epochs=1).validate()

  def test_default_preset_starts_from_the_shipped_bilm(self):
    config = pipeline.preset("default")
    config.validate()
    self.assertEqual((config.bilm_source, config.adapt_epochs), ("biomed5m_10epoch", 0))
    # results/README.md, "both taggers at once, 30 epochs": the measured 9 min 23 s.
    self.assertEqual((config.train.max_epochs, config.train.patience, config.parallel_taggers),
                     (30, 6, True))
    self.assertFalse(config.pretrains)
    self.assertTrue(pipeline.preset("scratch").pretrains)

  def test_binary_bad_input(self):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    tool = os.path.join(ROOT, "tools", "run_pipeline.py")
    with open(os.path.join(self.data, "test.tsv"), "w") as f:
      f.write("a\tO\nb\tB_Disease\n")
    for args, message in (([f"--data_dir={self.data}"], "test.tsv:2: malformed tag"),
                          (["--unlabeled=/nonexistent/*.txt"], "matches no file"),
                          (["--preset=huge"], "preset")):
      proc = subprocess.run([sys.executable, tool, f"--run_dir={self.get_temp_dir()}/r", *args],
                            capture_output=True, text=True, timeout=300, env=env)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
