"""Rebuilt documents and their span scores, against the tag-level scorer (metrics.py)."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner import metrics
from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.data.conll import Sentence
from tf_bilm_ner.experiments import raw_text

SENTENCES = [
    Sentence(["Germline", "BRCA1", "mutations", "(", "in", "5", ".", "5", "%", ")", "."],
             ["O", "B-Gene", "O", "O", "O", "O", "O", "O", "O", "O", "O"], 1),
    Sentence(["Breast", "cancer", "and", "ovarian", "cancer", ",", "e", ".", "g", "."],
             ["B-Disease", "I-Disease", "O", "B-Disease", "I-Disease", "O", "O", "O", "O",
              "O"], 13),
    Sentence(["Ataxia", "-", "telangiectasia", "patients", "."],
             ["B-Disease", "I-Disease", "I-Disease", "O", "O"], 25),
]


class RawTextTest(tf.test.TestCase):

  def test_detokenize_offsets_and_round_trip(self):
    text, offsets = raw_text.detokenize(SENTENCES[0].tokens)
    self.assertEqual(text, "Germline BRCA1 mutations (in 5.5%).")
    self.assertEqual([text[a:b] for a, b in offsets], SENTENCES[0].tokens)
    for s in SENTENCES:  # the tokenizer gives the gold tokens back
      self.assertEqual([t.text for t in tokenizer.tokenize(raw_text.detokenize(s.tokens)[0])],
                       s.tokens)

  def test_documents_group_in_order_with_gold_spans(self):
    docs = raw_text.documents(SENTENCES, 2)
    self.assertEqual([len(d.sentences) for d in docs], [2, 1])
    self.assertEqual([docs[0].text[a:b] for a, b, _ in docs[0].gold],
                     ["BRCA1", "Breast cancer", "ovarian cancer"])
    self.assertEqual([(doc.text[a:b], t) for doc in docs[1:] for a, b, t in doc.gold],
                     [("Ataxia - telangiectasia", "Disease")])  # hyphens stay spaced
    with self.assertRaisesRegex(ValueError, "count must be in"):
      raw_text.documents(SENTENCES, 4)

  def test_score_equals_the_tag_level_scorer(self):
    """Predictions made as tags, mapped to spans by the same offsets: span scores must equal
    metrics.entity_scores on the tags."""
    rng = np.random.RandomState(3)
    tagsets = ["O", "B-Disease", "I-Disease", "B-Gene", "I-Gene"]
    predicted_tags = [[tagsets[k] for k in rng.randint(0, 5, len(s.tokens))]
                      for s in SENTENCES]
    predicted_tags[1] = list(SENTENCES[1].tags)  # some right
    docs = raw_text.documents(SENTENCES, 3)
    spans = []
    for d, tags in zip(docs, predicted_tags):
      _, offsets = raw_text.detokenize(d.sentences[0].tokens)
      spans.append([(offsets[i][0], offsets[j - 1][1], t) for t, i, j in metrics.chunks(tags)])
    got = raw_text.score([d.gold for d in docs], spans)
    micro, per_type = metrics.entity_scores([s.tags for s in SENTENCES], predicted_tags)
    self.assertAllClose(got["micro"]["f1"], micro.f1)
    self.assertEqual(got["micro"]["num_correct"], micro.num_correct)
    self.assertEqual(sorted(got["per_type"]), sorted(per_type))
    for t, s in per_type.items():
      self.assertEqual(got["per_type"][t]["num_predicted"], s.num_predicted)
    self.assertGreater(micro.num_correct, 0)


if __name__ == "__main__":
  tf.test.main()
