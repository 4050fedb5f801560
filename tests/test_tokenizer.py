"""Raw-text tokenizer and sentence splitter, against the benchmark data's own tokenisation."""
import os

import tensorflow as tf

from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import raw_text

NCBI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "tf_bilm_ner", "resources", "ncbi_disease")


def detokenize(tokens):
  """Plausible running text for gold tokens (experiments/raw_text.py's rules)."""
  return raw_text.detokenize(tokens)[0]


class TokenizerTest(tf.test.TestCase):

  def test_conventions_and_offsets(self):
    text = "IL-2-induced p53 (0.5%) in E. coli; Ca2+ vs. \u00e9t\u00e9\u2013\u00df\u2082 x_y\u0301"
    tokens = tokenizer.tokenize(text)
    self.assertEqual([t.text for t in tokens],
                     ["IL", "-", "2", "-", "induced", "p53", "(", "0", ".", "5", "%", ")",
                      "in", "E", ".", "coli", ";", "Ca2", "+", "vs", ".", "\u00e9t\u00e9",
                      "\u2013", "\u00df\u2082", "x", "_", "y", "\u0301"])
    for t in tokens:
      self.assertEqual(text[t.start:t.end], t.text)
    self.assertEqual(tokenizer.tokenize("  \n\t "), [])

  def test_gold_tokens_are_single_tokens(self):
    # Re-tokenising each token of the benchmark data must give that token back.
    for split in ("train", "devel", "test"):
      for sentence in read_conll(os.path.join(NCBI, f"{split}.tsv")):
        for tok in sentence.tokens:
          self.assertEqual([t.text for t in tokenizer.tokenize(tok)], [tok])

  def test_abbreviations_species_decimals_brackets(self):
    cases = [
        ("Mutations (e.g. BRCA1) were found. Carriers were rare.", 2),
        ("Drugs, i.e. Aspirin, were used. Results were clear.", 2),
        ("As Smith et al. Reported earlier, it works. It does.", 2),
        ("See Fig. 2 for details. The rest follows.", 2),
        ("Cases vs. Controls differed. Yes.", 2),
        ("Infection by E. coli was seen. S. aureus was not.", 2),
        ("The dose was 2.5 mg. Levels rose.", 2),
        ("It was high (see Table 1. Data not shown) in all. Next one.", 2),
        ("Loss of mtDNA was seen. mtDNA deletions were found.", 2),
        ("First paragraph without a period\n\nSecond paragraph.", 2),
        ("Why? Because! Done.", 3),
    ]
    for text, n in cases:
      spans = tokenizer.split_sentences(text)
      self.assertLen(spans, n, f"{text!r} -> {[text[s:e] for s, e in spans]}")
      for s, e in spans:
        self.assertEqual(text[s:e], text[s:e].strip())

  def test_sentence_boundaries_on_real_abstract_text(self):
    # NCBI devel sentences, consecutive ones rebuilt into 8-sentence paragraphs; the
    # dataset's own sentence split is the reference. Misses are mostly titles without
    # a final period.
    sentences = read_conll(os.path.join(NCBI, "devel.tsv"))
    tp = fp = fn = 0
    for g in range(0, len(sentences), 8):
      texts = [detokenize(s.tokens) for s in sentences[g:g + 8]]
      doc = " ".join(texts)
      gold, pos = set(), 0
      for t in texts[:-1]:
        pos += len(t)
        gold.add(pos)
        pos += 1
      spans = tokenizer.split_sentences(doc)
      pred = {e for _, e in spans[:-1]}
      tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
      for s, e in spans:
        for t in tokenizer.tokenize(doc[s:e], offset=s):
          self.assertEqual(doc[t.start:t.end], t.text)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    self.assertGreater(precision, 0.98)
    self.assertGreater(recall, 0.95)


if __name__ == "__main__":
  tf.test.main()
