"""The taggers shipped in checkpoints/: intact (every file's sha256 against the manifest), the
manifest's test figure equal to the one stored in results/, and usable by name."""
import json
import os

import tensorflow as tf

from tf_bilm_ner import load_tagger
from tf_bilm_ner.serving import shipping, text_tagger

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = "Ataxia telangiectasia is a rare recessive disorder."


class ShippedTaggersTest(tf.test.TestCase):

  def test_every_shipped_tagger(self):
    names = text_tagger.shipped_taggers()
    self.assertIn("disease", names)
    for name in names:
      with self.subTest(name):
        manifest = shipping.check_package(os.path.join(text_tagger.SHIPPED_DIR, name))
        self.assertEqual(manifest["name"], name)
        with open(os.path.join(ROOT, "results", "shipped_taggers", name, "manifest.json")) as f:
          stored = json.load(f)
        self.assertEqual(manifest["scores"], stored["scores"])
        spans = load_tagger(name)(SAMPLE)
        for span in spans:
          self.assertEqual(SAMPLE[span.start:span.end], span.text)
          self.assertEqual(span.model, name)
          self.assertIn(span.type, manifest["entity_types"])

  def test_disease_finds_the_sample_disease(self):
    spans = load_tagger("disease")(SAMPLE)
    self.assertIn((0, 21, "Disease"), [(s.start, s.end, s.type) for s in spans])


if __name__ == "__main__":
  tf.test.main()
