"""The minimum-entity-score probe: entity filtering by hand-worked cases, the sweep against
metrics.entity_scores, the devel choice, and the binary on an exported tagger."""
import itertools
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import tensorflow as tf

from tests import helpers
from tf_bilm_ner import entity_threshold as threshold
from tf_bilm_ner import evaluation, metrics
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data.labeled import Featurizer, LabeledData
from tf_bilm_ner.data.conll import Sentence, read_conll
from tf_bilm_ner.experiments import entity_threshold
from tf_bilm_ner.serving import export


class KeepConfidentTest(unittest.TestCase):

  def test_entities_under_the_threshold_become_o(self):
    tags = ["B-Chem", "I-Chem", "O", "B-Dis", "B-Dis", "I-Chem", "O"]
    conf = [0.9, 0.4, 0.1, 0.95, 0.6, 0.7, 0.2]
    # Entities: Chem 0-2 (min 0.4), Dis 3, Dis 4, Chem 5 (an I after another type begins
    # one, as conlleval reads it).
    self.assertEqual(threshold.keep_confident(tags, conf, 0.5),
                     ["O", "O", "O", "B-Dis", "B-Dis", "I-Chem", "O"])
    self.assertEqual(threshold.keep_confident(tags, conf, 0.65),
                     ["O", "O", "O", "B-Dis", "O", "I-Chem", "O"])
    self.assertEqual(threshold.keep_confident(tags, conf, 0.0), tags)
    self.assertEqual(threshold.keep_confident(tags, conf, 0.96), ["O"] * 7)

  def test_sweep_and_choice(self):
    gold = [["B-X", "I-X", "O", "B-X"]]
    tags = [["B-X", "I-X", "O", "B-X"]]
    conf = [np.array([0.9, 0.8, 0.5, 0.3])]
    curve = threshold.sweep(gold, tags, conf, grid=(0.0, 0.2, 0.5, 0.85))
    micro, _ = metrics.entity_scores(gold, tags)
    self.assertAlmostEqual(curve[0]["f1"], micro.f1)
    self.assertEqual([r["num_predicted"] for r in curve], [2, 2, 1, 0])
    self.assertEqual(curve[2]["precision"], 100.0)
    self.assertEqual(curve[2]["recall"], 50.0)
    # 0.0 and 0.2 tie at F1 100: the lowest wins.
    self.assertEqual(threshold.choose(curve), 0.0)
    self.assertEqual(threshold.choose(curve[1:]), 0.2)


class ConfidenceTest(tf.test.TestCase):

  def test_confidence_is_the_crf_marginal_by_enumeration(self):
    """Each predicted tag's confidence against p(tag at t) summed over every tag sequence
    of short sentences (an independent reference), and the tags against predict_tags'."""
    tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
    tagger, vocabs = helpers.make_run_dir(os.path.join(tmp, "run"))
    featurizer = Featurizer(vocabs.words, vocabs.chars, tagger.config.encoder.max_chars_per_token)
    fixture = read_conll(os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv"))[:5]
    sentences = [Sentence(s.tokens[:n], s.tags[:n]) for s, n in zip(fixture, (1, 6, 3, 5, 2))]
    tags, conf = evaluation.predict_with_confidence(tagger, featurizer, vocabs.tags, sentences)
    self.assertEqual(tags, evaluation.predict_tags(tagger, featurizer, vocabs.tags, sentences))
    transitions = tagger.crf.transitions.numpy()
    names = [tag_scheme.to_iob2(t) for t in vocabs.tags.entries]
    for batch in LabeledData(sentences, featurizer, vocabs.tags, with_labels=False).batches(
        10_000, shuffle=False):
      features = {k: batch[k] for k in evaluation.FEATURE_SIGNATURE}
      potentials = tagger(features, training=False).numpy()
      for row, idx, n in zip(potentials, batch["index"].numpy(), batch["lengths"].numpy()):
        paths = list(itertools.product(range(len(names)), repeat=int(n)))
        scores = np.array([row[np.arange(n), p].sum() + transitions[p[:-1], p[1:]].sum()
                           for p in paths])
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        best = paths[int(np.argmax(scores))]
        self.assertEqual(tags[idx], [names[t] for t in best])
        want = [probs[[p[t] == best[t] for p in paths]].sum() for t in range(n)]
        self.assertAllClose(conf[idx], want, atol=1e-5)


class ProbeBinaryTest(tf.test.TestCase):

  def test_binary_on_an_export(self):
    tmp = tempfile.mkdtemp(dir=self.get_temp_dir())
    helpers.make_run_dir(os.path.join(tmp, "run"))
    saved = export.export(os.path.join(tmp, "run"), os.path.join(tmp, "export"))
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    fixture = os.path.join(helpers.TESTDATA, "ncbi_train_head.tsv")
    for split in ("devel", "test"):
      shutil.copy(fixture, os.path.join(data, f"{split}.tsv"))
    out = os.path.join(tmp, "probe.json")
    proc = helpers.run_tool("probe_entity_threshold.py", f"--saved_model={saved}",
                            f"--data_dir={data}", f"--out={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(out, encoding="utf-8") as f:
      result = json.load(f)
    self.assertEqual(len(result["devel"]), len(threshold.GRID))
    self.assertEqual(result["devel"], result["test"])  # the same file both times
    self.assertEqual(result["chosen"], threshold.choose(result["devel"]))
    # At 0 the sweep scores the export's own tags (random weights: some entities).
    sentences = read_conll(fixture)
    tags, _ = entity_threshold.tag(tf.saved_model.load(saved).signatures["serving_default"],
                                   sentences)
    micro, _ = metrics.entity_scores([s.tags for s in sentences], tags)
    self.assertGreater(micro.num_predicted, 0)
    self.assertAlmostEqual(result["test_f1_at_0"], micro.f1)
    self.assertIn("git_commit", result["provenance"])
    missing = helpers.run_tool("probe_entity_threshold.py", f"--saved_model={saved}",
                               f"--data_dir={tmp}")
    self.assertNotEqual(missing.returncode, 0)
    self.assertLessEqual(len(missing.stderr.strip().splitlines()), 3, missing.stderr)
    self.assertIn("devel.tsv", missing.stderr)


if __name__ == "__main__":
  unittest.main()
