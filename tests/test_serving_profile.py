"""The serving profile's stages compute what the serving graph computes, and the binary runs."""
import importlib.util
import json
import os
import sys
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.helpers import make_run_dir, run_tool
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.experiments import serving_profile
from tf_bilm_ner.serving import export, from_package, limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "testdata", "ncbi_devel_head.tsv")


class ServingProfileTest(tf.test.TestCase):

  def test_stages_match_the_model_and_the_binary_reports_them(self):
    run_dir = os.path.join(self.get_temp_dir(), "run")
    tagger, _ = make_run_dir(run_dir)
    module = serving_profile.module_from_run(run_dir)
    fns = serving_profile.stage_functions(module)
    self.assertEqual(list(fns), list(serving_profile.STAGES))
    sentence = read_conll(DATA)[3].tokens
    tokens, lengths = tf.constant([list(sentence)]), tf.constant([len(sentence)])
    features = module.features(tokens, lengths)
    potentials = tagger(features, training=False)   # the training path: Keras conv and LSTMs
    self.assertAllClose(fns["potentials"](tokens, lengths), potentials, atol=1e-5)
    marginals = fns["crf"](tokens, lengths)
    self.assertAllClose(tf.reduce_sum(marginals, -1), np.ones([1, len(sentence)]), atol=1e-5)
    want = module.signatures()["serving_default"](tokens=tokens, lengths=lengths)
    self.assertAllEqual(fns["signature"](tokens, lengths), want["tags"])
    self.assertAllClose(tf.gather(marginals, want["tag_ids"], batch_dims=2),
                        want["tag_confidence"], atol=1e-6)

    saved = export.export(run_dir, os.path.join(self.get_temp_dir(), "export"))
    out = os.path.join(self.get_temp_dir(), "profile.json")
    proc = run_tool("profile_serving.py", f"--run_dir={run_dir}", f"--saved_model={saved}",
                    f"--baseline_saved_model={saved}", f"--data={DATA}", "--calls=7", "--rounds=3",
                    "--batch_sizes=3", "--min_seconds=0.01", "--xla_max_tokens=13", f"--out={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    with open(out) as f:
      report = json.load(f)
    self.assertEqual([row["stage"] for row in report["stages"]],
                     [*serving_profile.STAGES, "signature_xla", "saved_model", "baseline"])
    self.assertEqual([row["tokens"] for row in report["xla_first_calls"]], [5, 13])
    self.assertEqual(report["same_results"], {"sentences": len(read_conll(DATA)),
                                              "different_tags": 0, "max_confidence_diff": 0.0})
    for row in report["stages"]:
      self.assertGreater(row["p50_ms"], 0, row["stage"])
    self.assertEqual(sorted(report["throughput"][0]), ["baseline", "saved_model"])
    self.assertLen(report["throughput"][0]["baseline"]["rounds"], 3)
    self.assertIn("git_commit", report["provenance"])
    # benchmark_serving shares the single-sentence timing (serving_speed.latency).
    proc = run_tool("benchmark_serving.py", f"--saved_model={saved}", f"--data={DATA}",
                    "--batch_sizes=2", "--latency_calls=5", "--min_seconds=0.01", f"--out={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    with open(out) as f:
      report = json.load(f)
    lengths = [len(s.tokens) for s in read_conll(DATA)]
    self.assertEqual(report["latency"]["calls"], 5)
    self.assertAlmostEqual(report["latency"]["mean_tokens"], np.mean(lengths[:5]))
    self.assertLessEqual(report["latency"]["p50_ms"], report["latency"]["p99_ms"])
    self.assertEqual(report["serving_default"][0]["batch_size"], 2)

  def test_binary_on_a_package(self):
    """--package: a tagger export profiled without its run directory (a shipped tagger)."""
    run_dir = os.path.join(self.get_temp_dir(), "run")
    make_run_dir(run_dir)
    saved = export.export(run_dir, os.path.join(self.get_temp_dir(), "export"),
                          export_config=export.ExportConfig(embedding_dtype="float16"))
    out = os.path.join(self.get_temp_dir(), "profile.json")
    proc = run_tool("profile_serving.py", f"--package={saved}", f"--baseline_saved_model={saved}",
                    f"--data={DATA}", "--calls=4", "--rounds=2", "--xla_max_tokens=13",
                    "--top_lstm_units=5", "--flat_call", "--xla_cpu_single_thread",
                    f"--out={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    with open(out) as f:
      report = json.load(f)
    self.assertEqual(report["package"], saved)
    self.assertEqual(report["top_lstm_units"], 5)
    signatures = ["signature", "signature_xla", "signature_top", "signature_top_xla", "baseline"]
    self.assertEqual([row["stage"] for row in report["stages"]],
                     [*serving_profile.STAGES, *signatures[1:],
                      *(f"{name}_flat" for name in signatures)])
    self.assertTrue(report["flat_call"])
    self.assertIn(limits.XLA_SINGLE_THREAD, report["xla_flags"])
    proc = run_tool("profile_serving.py", f"--package={saved}", f"--run_dir={run_dir}")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("exactly one of --run_dir and --package", proc.stderr)

  def test_with_top_lstm_keeps_the_taggers_weights(self):
    """with_top_lstm: the package's weights (its float16 word table as stored) plus a top
    BiLSTM of the given size; it serves; a tagger that has one already is refused."""
    run_dir = os.path.join(self.get_temp_dir(), "run")
    make_run_dir(run_dir)
    saved = export.export(run_dir, os.path.join(self.get_temp_dir(), "export"),
                          export_config=export.ExportConfig(embedding_dtype="float16"))
    module = from_package.module_from_package(saved)
    top = serving_profile.with_top_lstm(module.tagger, 6)
    short = lambda v: v.name.split("/", 1)[-1]   # without the model's own name
    old = {short(v): v for v in module.tagger.variables}
    new = {short(v): v for v in top.variables}
    self.assertEqual(new["top_forward_lstm/lstm_cell/recurrent_kernel:0"].shape, (6, 24))
    self.assertEqual(new["projection/kernel:0"].shape, (12, 3))   # 2 x 6 inputs
    same = [n for n in old if not n.startswith("projection/")]
    self.assertLen(same, 11)   # the encoder's (word table included) and the transitions
    for name in same:
      self.assertIs(new[name].dtype, old[name].dtype, name)
      self.assertAllEqual(new[name], old[name], msg=name)
    sentence = read_conll(DATA)[3].tokens
    served = export.TaggerModule(top, os.path.join(saved, "assets"), module.limits)
    out = served.signatures()["serving_default"](tokens=tf.constant([list(sentence)]),
                                                 lengths=tf.constant([len(sentence)]))
    self.assertEqual(out["tags"].shape, (1, len(sentence)))
    with self.assertRaisesRegex(UserError, "has a top BiLSTM already"):
      serving_profile.with_top_lstm(top, 6)

  def test_external_reference_times_the_same_sentences_in_the_same_rounds(self):
    seen = []

    def fake(sentences):
      seen.append([list(s) for s in sentences])
      return [float(len(s)) for s in sentences]

    sentences = [s.tokens for s in read_conll(DATA)]
    out = serving_profile.profile({"call": lambda tokens, lengths: tf.identity(tokens)},
                                  sentences, calls=7, rounds=3, external={"spacy_ner": fake})
    self.assertEqual([len(x) for x in seen], [5, 3, 3, 1])  # warm-up, then the rounds
    self.assertEqual(seen[1] + seen[2] + seen[3], [list(sentences[i]) for i in range(7)])
    self.assertEqual(out["spacy_ner"]["p50_ms"], np.median([len(s) for s in sentences[:7]]))
    self.assertIsNone(out["spacy_ner"]["adds_ms"])

  def test_spacy_reference(self):
    with self.assertRaisesRegex(UserError, "--spacy_python: cannot start /nonexistent/python"):
      serving_profile.SpacyReference("/nonexistent/python")
    python = os.environ.get("TF_BILM_NER_SPACY_PYTHON")  # a Python with spaCy, if any
    if importlib.util.find_spec("spacy") is None:
      with self.assertRaisesRegex(UserError, "is spaCy installed there"):
        serving_profile.SpacyReference(sys.executable)
    if not python:
      self.skipTest("set TF_BILM_NER_SPACY_PYTHON to a Python with spaCy to time it")
    with serving_profile.SpacyReference(python) as spacy_ner:
      self.assertEqual(spacy_ner.info["ner_config"]["model"]["tok2vec"]["width"], 96)
      times = spacy_ner([["Cisplatin", "causes", "nephrotoxicity", "."], ["a"]])
    self.assertLen(times, 2)
    self.assertGreater(min(times), 0.0)


if __name__ == "__main__":
  tf.test.main()


class XlaFlagsTest(tf.test.TestCase):

  def test_single_thread_flag_is_added_once_and_never_overrides(self):
    with mock.patch.dict(os.environ, {}, clear=True):
      self.assertEqual(limits.xla_cpu_single_thread(), limits.XLA_SINGLE_THREAD)
      self.assertEqual(limits.xla_cpu_single_thread(), limits.XLA_SINGLE_THREAD)
      self.assertEqual(os.environ["XLA_FLAGS"], limits.XLA_SINGLE_THREAD)
    with mock.patch.dict(os.environ, {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}, clear=True):
      self.assertEqual(limits.xla_cpu_single_thread(),
                       "--xla_dump_to=/tmp/x " + limits.XLA_SINGLE_THREAD)
    mine = "--xla_cpu_multi_thread_eigen=true"
    with mock.patch.dict(os.environ, {"XLA_FLAGS": mine}, clear=True):
      self.assertEqual(limits.xla_cpu_single_thread(), mine)
      self.assertEqual(os.environ["XLA_FLAGS"], mine)
