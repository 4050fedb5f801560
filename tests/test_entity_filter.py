"""The serving graph's minimum entity score against `entity_threshold.keep_confident` (Python,
conlleval's chunks): on random tag paths, and through an exported tagger; how the binaries
take the score."""
import json
import os
import tempfile

import numpy as np
import tensorflow as tf

from tests import helpers
from tf_bilm_ner import entity_threshold, evaluation, metrics
from tf_bilm_ner.config import ConfigError
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.experiments import entity_threshold as experiment
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving.entity_filter import EntityFilter

NAMES = ["O", "B-Chem", "I-Chem", "B-Dis", "I-Dis"]


class EntityFilterTest(tf.test.TestCase):

  def test_random_paths_against_keep_confident(self):
    rng = np.random.RandomState(7)
    batch, time = 9, 11
    tag_ids = rng.randint(len(NAMES), size=[batch, time]).astype(np.int32)  # bad I-X too
    marginals = rng.dirichlet(np.ones(len(NAMES)), size=[batch, time]).astype(np.float32)
    confidence = np.take_along_axis(marginals, tag_ids[..., None], -1)[..., 0]
    lengths = rng.randint(0, time + 1, size=batch)
    real = np.arange(time)[None, :] < lengths[:, None]
    for min_score in (0.1, 0.3, 0.6):
      ids, conf = EntityFilter(NAMES, min_score)(tf.constant(tag_ids), tf.constant(confidence),
                                                 tf.constant(marginals), tf.constant(real))
      ids, conf = ids.numpy(), conf.numpy()
      for b in range(batch):
        n = lengths[b]
        tags = [NAMES[t] for t in tag_ids[b, :n]]
        want = entity_threshold.keep_confident(tags, confidence[b, :n], min_score)
        self.assertEqual([NAMES[t] for t in ids[b, :n]], want, msg=(min_score, b))
        for t in range(n):  # a dropped tag's confidence is O's marginal
          expected = marginals[b, t, 0] if want[t] != tags[t] else confidence[b, t]
          self.assertAllClose(conf[b, t], expected)
        self.assertAllEqual(ids[b, n:], tag_ids[b, n:])  # padding untouched

  def test_needs_an_o_tag(self):
    with self.assertRaisesRegex(ConfigError, "needs an O tag"):
      EntityFilter(["B-X", "I-X"], 0.5)


class ExportedFilterTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    cls.run_dir = os.path.join(cls.tmp, "run")
    helpers.make_run_dir(cls.run_dir, scheme="iobes")  # random weights: entities everywhere
    cls.plain = export.export(cls.run_dir, os.path.join(cls.tmp, "plain"))
    cls.filtered = export.export(cls.run_dir, os.path.join(cls.tmp, "filtered"),
                                 export_config=export.ExportConfig(min_entity_score=0.3))

  def test_signatures_drop_what_keep_confident_drops(self):
    sentences = read_conll(os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv"))[:12]
    width = max(len(s.tokens) for s in sentences)
    inputs = dict(tokens=tf.constant([s.tokens + [""] * (width - len(s.tokens))
                                      for s in sentences]),
                  lengths=tf.constant([len(s.tokens) for s in sentences], tf.int32))
    plain = tf.saved_model.load(self.plain).signatures["serving_default"](**inputs)
    loaded = tf.saved_model.load(self.filtered)
    filtered = loaded.signatures["serving_default"](**inputs)
    dropped = kept = 0
    for row, s in enumerate(sentences):
      n = len(s.tokens)
      tags = [t.decode() for t in plain["tags"][row, :n].numpy()]
      want = entity_threshold.keep_confident(tags, plain["tag_confidence"][row, :n].numpy(), 0.3)
      self.assertEqual([t.decode() for t in filtered["tags"][row, :n].numpy()], want)
      dropped += sum(a != b for a, b in zip(tags, want))
      kept += sum(t != "O" for t in want)
    self.assertGreater(dropped, 0)  # random weights: entities of every confidence
    self.assertGreater(kept, 0)
    docs = tf.constant([" ".join(s.tokens) for s in sentences])
    spans = loaded.signatures["tag_text"](text=docs)
    scores = spans["entity_score"].numpy()[spans["entity_start"].numpy() >= 0]
    self.assertGreater(len(scores), 0)
    self.assertTrue(np.all(scores >= 0.3), scores)
    with open(os.path.join(self.filtered, "assets.extra", "export_config.json")) as f:
      self.assertEqual(json.load(f)["min_entity_score"], 0.3)

  def test_resolve_and_the_binary(self):
    self.assertEqual(entity_threshold.resolve("0", self.run_dir), 0.0)
    self.assertEqual(entity_threshold.resolve("0.35", self.run_dir), 0.35)
    for bad in ("1", "-0.1", "high"):
      with self.assertRaisesRegex(ConfigError, "a number in \\[0, 1\\) or 'devel'"):
        entity_threshold.resolve(bad, self.run_dir)
    with self.assertRaisesRegex(ConfigError, "no minimum entity score chosen on devel"):
      entity_threshold.resolve("devel", self.run_dir)  # never trained: no eval/scores.json
    eval_dir = os.path.join(self.tmp, "scored", "eval")
    os.makedirs(eval_dir)
    with open(os.path.join(eval_dir, "scores.json"), "w") as f:
      json.dump({"entity_threshold": {"min_entity_score": 0.7}}, f)
    self.assertEqual(entity_threshold.resolve("devel", os.path.dirname(eval_dir)), 0.7)
    proc = helpers.run_tool("export_saved_model.py", f"--run_dir={self.run_dir}",
                            f"--export_dir={os.path.join(self.tmp, 'bad')}",
                            "--min_entity_score=devel")
    self.assertNotEqual(proc.returncode, 0)
    self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
    self.assertIn("no minimum entity score chosen on devel", proc.stderr)

  def test_evaluate_binary_drops_what_the_filtered_export_drops(self):
    """tools/evaluate.py --min_entity_score on the run directory (Python filter over the
    Keras model's marginals) against the filtered export's graph filter, sentence by
    sentence, and its scores against conlleval-style scoring of the export's tags."""
    data = os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv")
    sentences = read_conll(data)
    out = {k: os.path.join(self.tmp, f"evaluate_{k}") for k in ("conll", "json")}
    proc = helpers.run_tool("evaluate.py", f"--run_dir={self.run_dir}", f"--data={data}",
                            "--min_entity_score=0.3", f"--predictions_out={out['conll']}",
                            f"--scores_out={out['json']}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(out["conll"], encoding="utf-8") as f:
      blocks = [b for b in f.read().split("\n\n") if b.strip()]
    written = [[line.split("\t")[2] for line in b.strip().split("\n")] for b in blocks]
    signature = tf.saved_model.load(self.filtered).signatures["serving_default"]
    tags, _ = experiment.tag(signature, sentences)
    self.assertEqual(written, tags)
    plain, _ = experiment.tag(tf.saved_model.load(self.plain).signatures["serving_default"],
                              sentences)
    self.assertNotEqual(tags, plain)  # something was dropped
    micro, _ = metrics.entity_scores([s.tags for s in sentences], tags)
    with open(out["json"], encoding="utf-8") as f:
      scores = json.load(f)
    self.assertAlmostEqual(scores["micro"]["f1"], micro.f1)
    self.assertEqual(scores["micro"]["num_predicted"], micro.num_predicted)
    self.assertEqual(scores["min_entity_score"], 0.3)
    bad = helpers.run_tool("evaluate.py", f"--run_dir={self.run_dir}", f"--data={data}",
                           "--min_entity_score=devel")
    self.assertNotEqual(bad.returncode, 0)
    self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
    self.assertIn("eval/scores.json: no minimum entity score chosen on devel", bad.stderr)

  def test_evaluate_model_scores_an_export_as_the_run_directory(self):
    """evaluation.evaluate_model through a SavedModel's serving signature against
    evaluate_file through the Keras checkpoint: the same predictions with and without the
    minimum score, and a filtered export scored as served."""
    data = os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv")
    out = lambda name: os.path.join(self.tmp, f"model_{name}.conll")
    read = lambda path: open(path, encoding="utf-8").read()
    for min_score in (0.0, 0.3):
      by_run = evaluation.evaluate_file(self.run_dir, data, out(f"run{min_score}"),
                                        min_entity_score=min_score)
      by_export = evaluation.evaluate_model(self.plain, data, out(f"export{min_score}"),
                                            min_entity_score=min_score)
      self.assertEqual(read(out(f"export{min_score}")), read(out(f"run{min_score}")))
      self.assertEqual(by_export, by_run)
    as_served = evaluation.evaluate_model(self.filtered, data, out("filtered"))
    self.assertEqual(read(out("filtered")), read(out("run0.3")))
    self.assertEqual(as_served["micro"], by_run["micro"])
    long_file = os.path.join(self.tmp, "long.tsv")
    with open(long_file, "w", encoding="utf-8") as f:
      f.write("a\tO\n\n" + "x\tO\n" * 513)
    with self.assertRaisesRegex(UserError, "long.tsv:3: sentence of 513 tokens, more than "
                                "the model's max_tokens=512"):
      evaluation.evaluate_model(self.plain, long_file)
    with self.assertRaisesRegex(UserError, "'all' names \\d+ models; score one at a time"):
      evaluation.evaluate_model("all", data)

  def test_evaluate_binary_on_a_shipped_tagger(self):
    data = os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv")
    scores_out = os.path.join(self.tmp, "disease.json")
    proc = helpers.run_tool("evaluate.py", "--model=disease", f"--data={data}",
                            f"--scores_out={scores_out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(scores_out, encoding="utf-8") as f:
      scores = json.load(f)
    self.assertGreater(scores["micro"]["f1"], 80)  # its own training sentences
    self.assertGreater(scores["micro"]["num_gold"], 20)
    bad = helpers.run_tool("evaluate.py", "--model=disease", f"--data={data}",
                           "--min_entity_score=devel")
    self.assertNotEqual(bad.returncode, 0)
    self.assertIn("--min_entity_score=devel reads a run's choice: give --run_dir", bad.stderr)


if __name__ == "__main__":
  tf.test.main()
