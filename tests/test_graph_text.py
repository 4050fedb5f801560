"""The in-graph tokenizer, sentence splitter and span decoder agree with the Python ones."""
import os
import random

import tensorflow as tf

from tests.test_tokenizer import NCBI, detokenize
from tf_bilm_ner import metrics
from tf_bilm_ner.data import graph_text, tokenizer
from tf_bilm_ner.data.conll import read_conll

# Characters that stress the classes: Unicode spaces Python counts as white space, marks,
# underscore, non-Latin letters and digits, symbols, sentence punctuation, brackets.
ALPHABET = (list("abcXYZ019 .!?()[]{}'\"-_/,;:") + ["\n", "\n\n", "\t", "\r\n", "\u00a0",
            "\u2028", "\u0085", "\u001c", "\u3000", "\u0301", "\u00e9", "\u00df", "\u0130",
            "\u03b2", "\u0416", "\u4e2d", "\u0663", "\u00b2", "\u2153", "\U0001F600", "\u01c5",
            "E. coli", "e.g.", "et al.", "Fig.", "mtDNA", "beta", "2.5", "The", "A"])


def _graph(docs, max_tokens=256):
  tok = graph_text.tokenize(tf.constant(docs))
  sid = graph_text.sentence_ids(tok, max_tokens).numpy()
  text = [t.decode("utf-8") for t in tok["text"].numpy()]
  out = [dict() for _ in docs]
  for i, row in enumerate(tok["row"].numpy()):
    out[row].setdefault(sid[i], []).append((text[i], int(tok["start"][i]), int(tok["end"][i])))
  return [[v for _, v in sorted(d.items())] for d in out]


def _python(doc):
  return [[(t.text, t.start, t.end) for t in s] for s in tokenizer.tokenize_sentences(doc)]


class GraphTextTest(tf.test.TestCase):

  def test_real_paragraphs(self):
    sentences = read_conll(os.path.join(NCBI, "test.tsv"))
    docs = [" ".join(detokenize(s.tokens) for s in sentences[g:g + 8])
            for g in range(0, len(sentences), 8)]
    docs[3] = docs[3] + "\n\n" + docs[4]  # a blank line inside a document
    for doc, got in zip(docs, _graph(docs)):
      self.assertEqual(got, _python(doc))

  def test_random_unicode(self):
    rng = random.Random(0)
    docs = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 60)))
            for _ in range(300)]
    for doc, got in zip(docs, _graph(docs)):
      self.assertEqual(got, _python(doc), repr(doc))
      for sentence in got:
        for text, start, end in sentence:
          self.assertEqual(doc[start:end], text)

  def test_long_sentences_are_cut_into_pieces(self):
    doc = " ".join(f"w{i}" for i in range(10)) + ". Next one."
    got = _graph([doc], max_tokens=4)[0]
    self.assertEqual([len(s) for s in got], [4, 4, 3, 3])

  def test_spans_follow_conlleval_chunks(self):
    rng = random.Random(1)
    tags_pool = ["O", "B-A", "I-A", "B-B", "I-B"]
    words, tags, sentence = [], [], []
    for s in range(60):
      n = rng.randrange(1, 9)
      words += [f"w{s}x{i}" for i in range(n)]
      tags.append([rng.choice(tags_pool) for _ in range(n)])
      sentence += [s] * n
    doc = " ".join(words)
    tok = graph_text.tokenize(tf.constant([doc]))
    flat_tags = [t for ts in tags for t in ts]
    conf = tf.constant([0.5 + 0.001 * i for i in range(len(flat_tags))])
    ents = graph_text.spans(tf.constant(flat_tags), conf, tf.constant(sentence), tok)
    want, offset = [], 0
    starts, ends = tok["start"].numpy(), tok["end"].numpy()
    for ts in tags:
      for typ, a, b in metrics.chunks(ts):
        want.append((typ, int(starts[offset + a]), int(ends[offset + b - 1]),
                     round(0.5 + 0.001 * (offset + a), 4)))
      offset += len(ts)
    got = list(zip([t.decode() for t in ents["type"].numpy()], ents["start"].numpy().tolist(),
                   ents["end"].numpy().tolist(), [round(float(x), 4) for x in ents["score"]]))
    self.assertEqual(got, want)
    for text, a, b in zip(ents["text"].numpy(), ents["start"].numpy(), ents["end"].numpy()):
      self.assertEqual(text.decode(), doc[a:b])


if __name__ == "__main__":
  tf.test.main()
