"""Every common labeled-data format reads as the same IOB2 sentences: IOB2, IOB1, IOBES,
untyped B/I/O (BioBERT), and PubTator with annotations."""
import os
import tempfile
import unittest

from tf_bilm_ner import metrics
from tf_bilm_ner.data import formats, pubtator
from tf_bilm_ner.data.conll import ConllFormatError, read_conll

TOKENS = ["Familial", "breast", "cancer", "and", "BRCA1", "loss", "in", "ataxia", "."]
IOB2 = ["O", "B-Disease", "I-Disease", "O", "B-Gene", "O", "O", "B-Disease", "O"]
IOB1 = ["O", "I-Disease", "I-Disease", "O", "I-Gene", "O", "O", "I-Disease", "O"]
IOBES = ["O", "B-Disease", "E-Disease", "O", "S-Gene", "O", "O", "S-Disease", "O"]
UNTYPED = ["O", "B", "I", "O", "B", "O", "O", "B", "O"]


def _write(text, suffix=".tsv"):
  fd, path = tempfile.mkstemp(suffix=suffix)
  with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(text)
  return path


def _conll(tags):
  return _write("".join(f"{t}\t{g}\n" for t, g in zip(TOKENS, tags)) + "\n"
                + "Normal\tO\ntext\tO\n")


class ConllSchemesTest(unittest.TestCase):

  def test_every_scheme_reads_as_the_same_iob2(self):
    for tags in (IOB2, IOB1, IOBES):
      sentences = read_conll(_conll(tags))
      self.assertEqual(sentences[0].tags, IOB2, tags)
      self.assertEqual(sentences[1].tags, ["O", "O"])

  def test_entities_are_the_ones_conlleval_reads_from_the_original(self):
    for tags in (IOB1, IOBES):  # an independent reading of the original tags
      want = metrics.chunks([t.replace("S-", "B-").replace("E-", "I-") for t in tags])
      self.assertEqual(metrics.chunks(read_conll(_conll(tags))[0].tags), want)

  def test_untyped_tags_take_the_given_type(self):
    self.assertEqual(read_conll(_conll(UNTYPED))[0].tags,
                     [t if t == "O" else f"{t}-Entity" for t in UNTYPED])
    got = read_conll(_conll(UNTYPED), entity_type="Disease")[0].tags
    self.assertEqual(got, ["O", "B-Disease", "I-Disease", "O", "B-Disease", "O", "O",
                           "B-Disease", "O"])

  def test_untyped_and_typed_in_one_file_is_an_error(self):
    tags = list(UNTYPED)
    tags[7] = "B-Disease"
    with self.assertRaisesRegex(ConllFormatError, r":8: typed tag 'B-Disease', but line 2 "
                                r"has an untyped one"):
      read_conll(_conll(tags))

  def test_a_malformed_tag_names_every_accepted_scheme(self):
    with self.assertRaisesRegex(ConllFormatError, r":2: malformed tag 'B_Disease': expected .*"
                                r"IOBES.*untyped"):
      read_conll(_write("a\tO\nb\tB_Disease\n"))


PUBTATOR = """\
100|t|BRCA1 mutations in breast cancer.
100|a|Ataxia-telangiectasia (A-T) patients. No cancer here: e.g. none.
100\t0\t5\tBRCA1\tGene\t672
100\t19\t32\tbreast cancer\tDisease\tD001943
100\t34\t55\tAtaxia-telangiectasia\tDisease\tD001260
100\t34\t40\tAtaxia\tDisease\tD001259
100\t57\t60\tA-T\tDisease\tD001260
100\tCID\tD1\tD2

200|t|Title
200|a|Nothing.
"""


class PubTatorTest(unittest.TestCase):

  def test_annotations_become_iob2_sentences(self):
    path = _write(PUBTATOR, ".pubtator")
    self.assertTrue(formats.is_pubtator(path))
    sentences = formats.read_labeled(path)
    tagged = [(t, g) for s in sentences for t, g in zip(s.tokens, s.tags)]
    self.assertEqual(sentences[0].tokens, ["BRCA1", "mutations", "in", "breast", "cancer", "."])
    self.assertEqual(sentences[0].tags, ["B-Gene", "O", "O", "B-Disease", "I-Disease", "O"])
    # the overlapping shorter "Ataxia" is dropped; the longer annotation is kept
    self.assertEqual(tagged[6:13], [("Ataxia", "B-Disease"), ("-", "I-Disease"),
                                    ("telangiectasia", "I-Disease"), ("(", "O"),
                                    ("A", "B-Disease"), ("-", "I-Disease"), ("T", "I-Disease")])
    self.assertEqual({g for s in sentences[-2:] for g in s.tags}, {"O"})  # document 200
    self.assertEqual([s.line for s in sentences], [1] * (len(sentences) - 2) + [10, 10])

  def test_alignment_counts(self):
    stats = pubtator.Alignment()
    doc = next(pubtator.iter_pubtator(_write(PUBTATOR)))
    pubtator.to_sentences(doc, stats)
    self.assertEqual((stats.entities, stats.overlapping_dropped, stats.boundary_mismatches),
                     (4, 1, 0))
    doc.annotations = [pubtator.Annotation(1, 5, "RCA1", "Gene")]  # starts inside a token
    stats = pubtator.Alignment()
    self.assertEqual(pubtator.to_sentences(doc, stats)[0].tags[0], "B-Gene")
    self.assertEqual(stats.boundary_mismatches, 1)

  def test_errors_name_file_and_line(self):
    cases = [
        ("1|t|A b\n1|a|C d\n1\t0\t3\tA x\tGene\n", r":3: mention 'A x' but the text at 0-3 is "),
        ("1|t|A b\n1|a|C d\n1\t0\t99\tA\tGene\n", r":3: offsets 0-99 outside"),
        ("1|t|A b\n1|a|C d\n2|t|E\n", r":3: document 2 starts before the blank line"),
        ("1|t|A b\n\n", r":1: document 1 lacks its abstract"),
        ("1|t|A b\n1|a|C d\nrandom line\n", r":3: expected 'PMID\|t\|title'"),
    ]
    for text, pattern in cases:
      with self.assertRaisesRegex(ConllFormatError, pattern):
        formats.read_labeled(_write(text))


if __name__ == "__main__":
  unittest.main()


class TokenLinesTest(unittest.TestCase):

  def test_sentences_back_to_unlabeled_text(self):
    path = _write("A\tB-Disease\nT\tI-Disease\n.\tO\n\nOk\tO\n")
    sentences = formats.read_labeled(path)
    out = path + ".txt"
    formats.write_token_lines(out, sentences)
    with open(out, encoding="utf-8") as f:
      self.assertEqual(f.read(), "A T .\nOk\n")
    formats.write_token_lines(out, [])
    with open(out, encoding="utf-8") as f:
      self.assertEqual(f.read(), "")
    os.remove(out)
