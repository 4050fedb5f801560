"""The export of a tagger with a top BiLSTM (`TaggerConfig.top_lstm_units`): the serving graph
runs it as `layers/fused.py` does, and must give what the Keras model computes."""
import os
import tempfile

import numpy as np
import tensorflow as tf

from tests.helpers import make_run_dir
from tests.test_export import SENTENCES, _brute_force, _padded
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.evaluation import predict_tags
from tf_bilm_ner.serving import export, from_package


class TopLSTMExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    run_dir = os.path.join(tmp, "run")
    cls.tagger, cls.vocabs = make_run_dir(run_dir, seed=7, top_lstm_units=6)
    limits = dict(max_batch=31, max_tokens=77)
    cls.portable = export.export(run_dir, os.path.join(tmp, "portable"),
                                 export_config=export.ExportConfig(**limits))
    cls.xla = export.export(run_dir, os.path.join(tmp, "xla"), export_config=export.ExportConfig(
        xla_max_tokens=13, embedding_dtype="float16", **limits))

  def test_portable_export_is_the_keras_model(self):
    """Tags of a ragged batch equal the Keras model's; marginals and sequence probabilities
    equal brute-force enumeration over the Keras model's potentials."""
    batch = _padded(SENTENCES)
    fn = tf.saved_model.load(self.portable).signatures["serving_default"]
    got = fn(tokens=tf.constant(batch["tokens"]), lengths=tf.constant(batch["lengths"]))
    featurizer = Featurizer(self.vocabs.words, self.vocabs.chars, 9)
    want = predict_tags(self.tagger, featurizer, self.vocabs.tags, SENTENCES)
    for i, s in enumerate(SENTENCES):
      self.assertEqual([t.decode() for t in got["tags"].numpy()[i, :len(s.tokens)]], want[i])
    self.assertGreater(len({t for s in want for t in s}), 1)   # not all "O"
    feats = featurizer(tf.constant(batch["tokens"]))
    feats["lengths"] = tf.constant(batch["lengths"])
    potentials = self.tagger(feats, training=False).numpy()    # Keras' LSTMs, not the fused loop
    transitions = self.tagger.crf.transitions.numpy()
    short = [i for i, n in enumerate(batch["lengths"]) if n <= 6]
    self.assertLen(short, 18)
    for i in short:
      n = batch["lengths"][i]
      marginals, best, prob = _brute_force(potentials[i, :n], transitions, n)
      self.assertEqual(list(got["tag_ids"].numpy()[i, :n]), list(best))
      self.assertAllClose(got["tag_confidence"][i, :n], marginals[np.arange(n), list(best)],
                          atol=1e-4)
      self.assertAllClose(got["confidence"][i], prob, atol=1e-4)

  def test_xla_and_rebuilt_package(self):
    """One sentence through the XLA path (float16 word table) and through the module rebuilt
    from that package: the same tags; confidences within float16 rounding of the portable
    export's, and equal between the package and its rebuilt module."""
    portable = tf.saved_model.load(self.portable).signatures["serving_default"]
    packaged = tf.saved_model.load(self.xla).signatures["serving_default"]
    rebuilt = from_package.module_from_package(self.xla).signatures()["serving_default"]
    agree = 0
    for s in SENTENCES:
      batch = _padded([s])
      args = dict(tokens=tf.constant(batch["tokens"]), lengths=tf.constant(batch["lengths"]))
      want, got, again = portable(**args), packaged(**args), rebuilt(**args)
      self.assertAllEqual(again["tag_ids"], got["tag_ids"])
      self.assertAllClose(again["tag_confidence"], got["tag_confidence"], atol=1e-6)
      agree += int(np.array_equal(got["tag_ids"], want["tag_ids"]))
      self.assertAllClose(got["confidence"], want["confidence"], atol=0.05)
    self.assertGreaterEqual(agree, len(SENTENCES) - 1)   # float16 words may flip a near tie


if __name__ == "__main__":
  tf.test.main()
