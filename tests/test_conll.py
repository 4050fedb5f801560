"""CoNLL reading/writing: real fixtures and every malformed-input error."""
import os

import tensorflow as tf

from tf_bilm_ner.data.conll import ConllFormatError, Sentence, read_conll, repair_iob2, write_conll

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


class ConllTest(tf.test.TestCase):

  def _write(self, content, mode="w"):
    path = os.path.join(self.get_temp_dir(), f"f{self.id().rsplit('.', 1)[-1]}.tsv")
    with open(path, mode) as f:
      f.write(content)
    return path

  def assertErrorAt(self, content, line, fragment, mode="w"):
    path = self._write(content, mode)
    with self.assertRaises(ConllFormatError) as cm:
      read_conll(path)
    self.assertEqual(cm.exception.line, line)
    self.assertIn(fragment, str(cm.exception))
    self.assertIn(path, str(cm.exception))

  def test_reads_real_fixture(self):
    sents = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))
    self.assertLen(sents, 160)
    self.assertEqual(sents[0].tokens[:3], ["Identification", "of", "APC2"])
    self.assertEqual(sents[0].line, 1)
    self.assertTrue(all(len(s.tokens) == len(s.tags) for s in sents))
    num_lines = sum(len(s.tokens) + 1 for s in sents)
    self.assertEqual(num_lines, 4031)

  def test_docstart_multicolumn_crlf_bom(self):
    text = "\ufeff-DOCSTART- -X- O O\r\n\r\nIL-2 NN B-NP B-protein\r\ngene NN I-NP I-protein\r\n\r\n"
    sents = read_conll(self._write(text))
    self.assertEqual([(s.tokens, s.tags, s.line) for s in sents],
                     [(["IL-2", "gene"], ["B-protein", "I-protein"], 3)])

  def test_repairs_iob1_starts(self):
    sents = read_conll(self._write("a\tI-X\nb\tI-X\nc\tI-Y\nd\tO\ne\tI-X\n"))
    self.assertEqual(sents[0].tags, ["B-X", "I-X", "B-Y", "O", "B-X"])
    self.assertEqual(repair_iob2(["B-X", "I-X", "I-X"]), (["B-X", "I-X", "I-X"], 0))

  def test_errors_name_file_and_line(self):
    self.assertErrorAt("a\tO\nb\tO\textra\n", 2, "expected 2 columns")
    self.assertErrorAt("a\tO\n\tO\n", 2, "empty or space-padded token")
    self.assertErrorAt("a\tO\nb\tB_Disease\n", 2, "malformed tag 'B_Disease'")
    self.assertErrorAt("a\tO\n\nb\tX-Y\n", 3, "malformed tag")
    self.assertErrorAt(b"a\tO\nb\xff\xfe\tO\n", 2, "not valid UTF-8", mode="wb")
    self.assertErrorAt(b"a\tO\n\x00\x01\x02", 2, "binary", mode="wb")
    self.assertErrorAt("onlytoken\n", 1, "at least 2 columns")

  def test_empty_files(self):
    for content in ("", "\n\n", "-DOCSTART-\tO\n\n"):
      path = self._write(content)
      with self.assertRaisesRegex(ConllFormatError, "no sentences"):
        read_conll(path)
    with self.assertRaisesRegex(ConllFormatError, "file not found"):
      read_conll(os.path.join(self.get_temp_dir(), "missing.tsv"))

  def test_write_round_trip_with_predictions(self):
    sents = [Sentence(["IL-2", "is", "ok"], ["B-P", "O", "O"]), Sentence(["x"], ["O"])]
    path = os.path.join(self.get_temp_dir(), "out.conll")
    write_conll(path, sents, [["B-P", "O", "B-P"], ["O"]])
    with open(path) as f:
      self.assertEqual(f.read(), "IL-2\tB-P\tB-P\nis\tO\tO\nok\tO\tB-P\n\nx\tO\tO\n\n")
    back = read_conll(path)  # 3 columns: the tag read is the last (predicted) one
    self.assertEqual([s.tokens for s in back], [s.tokens for s in sents])
    self.assertEqual(back[0].tags, ["B-P", "O", "B-P"])

  def test_write_rejects_length_mismatch_and_leaves_nothing(self):
    path = os.path.join(self.get_temp_dir(), "bad.conll")
    with self.assertRaisesRegex(ValueError, "has 1 tags, expected 2"):
      write_conll(path, [Sentence(["a", "b"], ["O", "O"])], [["O"]])
    self.assertEmpty([f for f in os.listdir(self.get_temp_dir()) if f.startswith("bad.conll")])


if __name__ == "__main__":
  tf.test.main()
