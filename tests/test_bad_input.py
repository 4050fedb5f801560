"""Bad input, table by table: every case gets one clear error naming the file (and line where
there is one), or the documented handling; never a hang or a TensorFlow traceback.

The tables: CoNLL files (the reader every binary uses), trained-model inputs (evaluation, run
directories, checkpoints, SavedModels, transfer), the serving signatures, output space, and
the binaries themselves (exit status, message, no traceback, no partial output).
"""
import os
import re
import shutil
import tempfile

import tensorflow as tf

from tests.helpers import make_run_dir
from tests.helpers import run_tool as _run
from tests.test_bilm_training import _shards
from tf_bilm_ner import evaluation
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import ConllFormatError
from tf_bilm_ner.data.formats import read_labeled
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving import tag_documents
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import surgery

LONG = "".join(f"w{i}\tO\n" for i in range(10_000)).encode()

PUBTATOR = (b"7|t|Ataxia telangiectasia.\n7|a|It is rare.\n"
            b"7\t0\t21\tAtaxia telangiectasia\tDisease\tD001260\n\n")

# name, file bytes, (line, message) of the expected error, or the [(tokens, tags)] read.
# Every labeled-data reader (train_tagger, evaluate, the pipeline) goes through read_labeled.
CONLL_CASES = [
    ("empty file", b"", (None, "no sentences")),
    ("only blank lines", b"\n\r\n\n", (None, "no sentences")),
    ("binary garbage", bytes(range(256)) * 8, (1, "NUL byte: this looks like a binary file")),
    ("invalid UTF-8", b"a\tO\n\xc3\x28\tO\n", (2, "not valid UTF-8 (byte 0xc3")),
    ("one column", b"IL-2\n", (1, "expected at least 2 columns")),
    ("wrong column count", b"a\tO\nb\tNN\tO\n", (2, "expected 2 columns like the first")),
    ("tab inside a token", b"IL-2\tB-X\nalpha\tchain\tI-X\n", (2, "expected 2 columns")),
    ("malformed tag", b"a\tO\nb\tB_Disease\n", (2, "malformed tag 'B_Disease'")),
    ("space-padded token", b"a\tO\n a\tO\n", (2, "empty or space-padded token")),
    ("CRLF line endings", b"IL-2\tB-X\r\ngene\tI-X\r\n\r\n", [(["IL-2", "gene"], ["B-X", "I-X"])]),
    ("UTF-8 BOM", b"\xef\xbb\xbfIL-2\tB-X\n", [(["IL-2"], ["B-X"])]),
    ("IOB1 chunk start", b"IL-2\tI-X\n", [(["IL-2"], ["B-X"])]),  # repaired, with a warning
    ("IOB1 file", b"a\tI-X\nb\tI-X\nc\tB-X\nd\tO\ne\tI-Y\n",
     [(list("abcde"), ["B-X", "I-X", "B-X", "O", "B-Y"])]),
    ("IOBES file", b"a\tS-X\nb\tB-X\nc\tI-X\nd\tE-X\ne\tO\n",
     [(list("abcde"), ["B-X", "B-X", "I-X", "I-X", "O"])]),
    ("IOBES with an unknown prefix", b"a\tS-X\nb\tM-X\n", (2, "malformed tag 'M-X'")),
    ("untyped B/I/O (BioBERT)", b"IL-2\tB\ngene\tI\nis\tO\n\nx\tB\n",
     [(["IL-2", "gene", "is"], ["B-Entity", "I-Entity", "O"]), (["x"], ["B-Entity"])]),
    ("untyped and typed mixed", b"a\tB\nb\tO\n\nc\tB-X\n",
     (4, "typed tag 'B-X', but line 1 has an untyped one")),
    ("PubTator with annotations", PUBTATOR,
     [(["Ataxia", "telangiectasia", "."], ["B-Disease", "I-Disease", "O"]),
      (["It", "is", "rare", "."], ["O"] * 4)]),
    ("PubTator mention not at its offsets", PUBTATOR.replace(b"\t0\t21\t", b"\t1\t22\t"),
     (3, "mention 'Ataxia telangiectasia' but the text at 1-22 is")),
    ("PubTator offsets past the text", PUBTATOR.replace(b"\t0\t21\t", b"\t30\t99\t"),
     (3, "offsets 30-99 outside the document's 34 characters")),
    ("PubTator document without abstract", b"7|t|Ataxia.\n\n",
     (1, "document 7 lacks its abstract (|a|) line")),
    ("PubTator garbage line", PUBTATOR.replace(b"7\t0", b"junk line\n7\t0"),
     (3, "expected 'PMID|t|title', 'PMID|a|abstract' or an annotation line")),
    ("10,000-token sentence", LONG, [([f"w{i}" for i in range(10_000)], ["O"] * 10_000)]),
    ("1,000-character token", b"a" * 1000 + b"\tO\n", [(["a" * 1000], ["O"])]),
]


def _write(directory, name, content: bytes):
  path = os.path.join(directory, re.sub(r"[^A-Za-z0-9-]+", "_", name) + ".tsv")
  with open(path, "wb") as f:
    f.write(content)
  return path


class ConllTableTest(tf.test.TestCase):

  def test_table(self):
    for name, content, want in CONLL_CASES:
      with self.subTest(name):
        path = _write(self.get_temp_dir(), name, content)
        if isinstance(want, list):
          self.assertEqual([(s.tokens, s.tags) for s in read_labeled(path)], want)
        else:
          line, message = want
          where = f"{path}:{line}: " if line else f"{path}: "
          with self.assertRaises(ConllFormatError) as ctx:
            read_labeled(path)
          self.assertTrue(str(ctx.exception).startswith(where), str(ctx.exception))
          self.assertIn(message, str(ctx.exception))
          self.assertNotIn("\n", str(ctx.exception))


class ModelInputTableTest(tf.test.TestCase):
  """Inputs to a trained tagger: run directories, checkpoints, SavedModels, a BiLM."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # Its own folder: the class-level temp dir is shared by every test class in the process.
    cls.tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    cls.run_dir = os.path.join(cls.tmp, "run")
    make_run_dir(cls.run_dir)
    cls.export = export.export(cls.run_dir, os.path.join(cls.tmp, "exports"), version=1)
    cls.bilm = os.path.join(cls.tmp, "bilm")  # a BiLM written by the binary, 2 steps
    proc = _run("train_bilm.py", f"--shards_dir={_shards(os.path.join(cls.tmp, 'corpus'))}",
                f"--run_dir={cls.bilm}", "--max_words=300", "--num_sampled=7",
                "--batch_tokens=211", "--max_steps=2", "--word_dim=5", "--char_dim=3",
                "--char_filters=5", "--lstm_units=7")
    assert proc.returncode == 0, proc.stderr[-3000:]

  def _copy(self, src, name):
    dst = os.path.join(self.get_temp_dir(), name)
    shutil.copytree(src, dst)
    return dst

  def _data(self, name, content: bytes):
    return _write(self.get_temp_dir(), name, content)

  def test_evaluation_handles_long_and_unknown_input(self):
    # name, data, check(scores, predictions): documented handling, not errors.
    cases = [
        ("10,000-token sentence", LONG,  # tagged whole, one prediction per token
         lambda s, p: self.assertLen(p, 10_000)),
        ("1,000-character token", b"a" * 1000 + b"\tO\nb\tO\n",  # characters cut to the limit
         lambda s, p: self.assertLen(p, 2)),
        ("unknown gold tags", b"aspirin\tB-Chemical\nx\tO\n",  # counted as missed, listed
         lambda s, p: (self.assertEqual(s["unknown_gold_tags"], ["B-Chemical"]),
                       self.assertEqual(s["micro"]["num_gold"], 1))),
    ]
    for name, content, check in cases:
      with self.subTest(name):
        out = os.path.join(self.get_temp_dir(), "pred.conll")
        scores = evaluation.evaluate_file(self.run_dir, self._data(name, content), out)
        with open(out, encoding="utf-8") as f:
          check(scores, [line for line in f if line.strip()])

  def test_damaged_run_directories_and_exports(self):
    def truncate(path, pattern, size=40):
      with open(tf.io.gfile.glob(os.path.join(path, pattern))[0], "r+b") as f:
        f.truncate(size)

    def garble(path, pattern):
      target = tf.io.gfile.glob(os.path.join(path, pattern))[0]
      with open(target, "r+b") as f:
        f.write(os.urandom(os.path.getsize(target)))

    # name, what to damage (run dir or export copy), call, error type, message
    cases = [
        ("truncated checkpoint", "run", lambda d: truncate(d, "best/*.data-*"),
         checkpoints.restore_tagger, run_dir_lib.RunDirError, "best/ckpt-1: unreadable checkpoint"),
        ("corrupt checkpoint index", "run", lambda d: garble(d, "best/*.index"),
         checkpoints.restore_tagger, run_dir_lib.RunDirError, "best/ckpt-1: unreadable checkpoint"),
        ("missing checkpoint", "run", lambda d: shutil.rmtree(os.path.join(d, "best")),
         checkpoints.restore_tagger, run_dir_lib.RunDirError, "best: no checkpoint found"),
        ("missing vocabulary", "run", lambda d: os.remove(os.path.join(d, "vocab", "words.txt")),
         checkpoints.restore_tagger, vocab_lib.VocabularyError, "words.txt: vocabulary file not "),
        ("vocabulary of another model", "run",
         lambda d: open(os.path.join(d, "vocab", "tags.txt"), "a").write("B-Extra\n"),
         checkpoints.restore_tagger, run_dir_lib.RunDirError, "vocabulary sizes do not match"),
        ("SavedModel missing a vocabulary asset", "export",
         lambda d: os.remove(os.path.join(d, "assets", "tags.txt")),
         tag_documents.Annotator, tag_documents.InputError, "assets/tags.txt: missing from the SavedModel"),
        ("SavedModel with a damaged graph", "export", lambda d: truncate(d, "saved_model.pb"),
         tag_documents.Annotator, tag_documents.InputError, "not a loadable SavedModel"),
        ("SavedModel with damaged variables", "export",
         lambda d: truncate(d, "variables/*.data-*"),
         tag_documents.Annotator, tag_documents.InputError, "not a loadable SavedModel"),
    ]
    for name, what, damage, call, error, message in cases:
      with self.subTest(name):
        path = self._copy(self.run_dir if what == "run" else self.export,
                          name.replace(" ", "_"))
        damage(path)
        with self.assertRaisesRegex(error, message):
          call(path)

  def test_transfer_from_mismatched_bilm(self):
    cases = [
        ("vocabulary file of another BiLM",
         lambda d: open(os.path.join(d, "vocab", "words.txt"), "a").write("extra\n"),
         r"vocabularies \(301 words, .*\) do not match bilm_config.json \(300,"),
        ("missing BiLM vocabulary", lambda d: os.remove(os.path.join(d, "vocab", "chars.txt")),
         "not a usable BiLM directory: .*chars.txt: vocabulary file not found"),
        ("no checkpoint", lambda d: shutil.rmtree(os.path.join(d, "ckpt")), "no checkpoint"),
    ]
    for name, damage, message in cases:
      with self.subTest(name):
        path = self._copy(self.bilm, name.replace(" ", "_"))
        damage(path)
        with self.assertRaisesRegex(surgery.TransferError, message):
          surgery.load_source(path)

  def test_serving_signatures(self):
    model = tf.saved_model.load(self.export)
    tokens_fn, text_fn = model.signatures["serving_default"], model.signatures["tag_text"]
    limits = export.ExportConfig()
    # Empty and whitespace-only documents: no sentences, no entities, no error.
    out = text_fn(text=tf.constant(["", " ", "\n\t \r\n", "\u00a0\u2003"]))
    self.assertAllEqual(out["num_sentences"], [0, 0, 0, 0])
    self.assertAllEqual(out["num_entities"], [0, 0, 0, 0])
    # Empty token strings inside a sentence are tagged (as unknown words), padding is not.
    out = tokens_fn(tokens=tf.constant([["", "a", ""]]), lengths=tf.constant([2]))
    self.assertEqual(out["tags"].numpy()[0, 2], b"")
    # name, signature, inputs, message
    cases = [
        ("oversized batch (tokens)", tokens_fn,
         dict(tokens=tf.fill([limits.max_batch + 1, 1], "a"),
              lengths=tf.ones([limits.max_batch + 1], tf.int32)),
         f"max_batch={limits.max_batch}"),
        ("oversized sentence", tokens_fn,
         dict(tokens=tf.fill([1, limits.max_tokens + 1], "a"),
              lengths=tf.constant([limits.max_tokens + 1])), f"max_tokens={limits.max_tokens}"),
        ("oversized batch (text)", text_fn, dict(text=tf.fill([limits.max_batch + 1], "a")),
         f"max_batch={limits.max_batch} documents"),
        ("oversized document", text_fn, dict(text=tf.constant(["a" * (limits.max_text_chars + 1)])),
         f"max_text_chars={limits.max_text_chars}"),
    ]
    for name, fn, inputs, message in cases:
      with self.subTest(name):
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message):
          fn(**inputs)

  def test_output_space(self):
    free = shutil.disk_usage(self.get_temp_dir()).free
    with self.assertRaisesRegex(run_dir_lib.RunDirError, r"MiB free on its file system, but 2 "
                                r"checkpoints need about \d+ MiB"):
      checkpoints.check_free_space(self.get_temp_dir(), free + 2**40, "2 checkpoints")
    checkpoints.check_free_space(self.get_temp_dir(), 1, "a byte")
    if os.geteuid() != 0:  # root writes anywhere
      locked = os.path.join(self.get_temp_dir(), "locked")
      os.makedirs(locked, exist_ok=True)
      os.chmod(locked, 0o500)
      with self.assertRaisesRegex(run_dir_lib.RunDirError, "cannot write to the run directory"):
        run_dir_lib.check_writable(os.path.join(locked, "run"))

  def test_binaries(self):
    tmp = self.get_temp_dir()
    empty = self._data("empty", b"")
    garbage = self._data("garbage", bytes(range(256)) * 8)
    no_asset = self._copy(self.export, "no_asset")
    os.remove(os.path.join(no_asset, "assets", "words.txt"))
    cut_run = self._copy(self.run_dir, "cut_run")
    with open(tf.io.gfile.glob(os.path.join(cut_run, "best", "*.data-*"))[0], "r+b") as f:
      f.truncate(40)
    bilm = self._copy(self.bilm, "bad_bilm")
    with open(os.path.join(bilm, "vocab", "words.txt"), "a") as f:
      f.write("extra\n")
    text = self._data("text", "Ataxia telangiectasia is rare.\n".encode())
    mixed = self._data("mixed", b"a\tB\nb\tO\n\nc\tB-X\n")
    pubtator = self._data("pubtator", PUBTATOR.replace(b"\t0\t21\t", b"\t1\t22\t"))
    # tool, args, message, an output that must not exist afterwards
    cases = [
        ("train_tagger.py", [f"--run_dir={tmp}/t", f"--train={empty}", f"--devel={empty}"],
         f"{empty}: no sentences", f"{tmp}/t/ckpt"),
        ("evaluate.py", [f"--run_dir={self.run_dir}", f"--data={garbage}",
                         f"--scores_out={tmp}/s.json"],
         f"{garbage}:1: NUL byte", f"{tmp}/s.json"),
        ("train_tagger.py", [f"--run_dir={tmp}/u", f"--train={mixed}", f"--devel={mixed}"],
         f"{mixed}:4: typed tag 'B-X', but line 1 has an untyped one", f"{tmp}/u/ckpt"),
        ("evaluate.py", [f"--run_dir={self.run_dir}", f"--data={pubtator}",
                         f"--scores_out={tmp}/p.json"],
         f"{pubtator}:3: mention 'Ataxia telangiectasia' but the text", f"{tmp}/p.json"),
        ("evaluate.py", [f"--run_dir={self.run_dir}", f"--data={tmp}/missing.tsv"],
         f"{tmp}/missing.tsv: file not found", None),
        ("predict.py", [f"--model={no_asset}", f"--input={text}", f"--output={tmp}/p.jsonl"],
         "assets/words.txt: missing from the SavedModel", f"{tmp}/p.jsonl"),
        ("export_saved_model.py", [f"--run_dir={cut_run}", f"--export_dir={tmp}/e"],
         "unreadable checkpoint", f"{tmp}/e/1"),
        ("transfer_checkpoint.py", [f"--bilm={bilm}", f"--output_dir={tmp}/x",
                                    f"--train={text}"],
         "do not match bilm_config.json", f"{tmp}/x"),
        ("pack_lm_corpus.py", [f"--shards_dir={tmp}", f"--vocab_dir={bilm}/vocab",
                               f"--output={tmp}/packed.npz.xz"],
         "no train-*.txt shards", f"{tmp}/packed.npz.xz"),
        ("train_bilm_torch.py", [f"--packed={garbage}", f"--out_dir={tmp}/torch"],
         f"{garbage}: not a packed corpus", f"{tmp}/torch"),
        ("import_bilm_weights.py", [f"--weights={tmp}", f"--vocab_dir={bilm}/vocab",
                                    f"--output_dir={tmp}/imported"],
         "not a torch_port output", f"{tmp}/imported"),
    ]
    for tool, args, message, output in cases:
      with self.subTest(f"{tool} {message}"):
        proc = _run(tool, *args)
        self.assertEqual(proc.returncode, 1)
        # One line with the error, the last; no TensorFlow start-up lines, no flag help.
        lines = proc.stderr.strip().splitlines()
        self.assertTrue(lines[-1].startswith(f"{tool}: error: "), proc.stderr)
        self.assertIn(message, lines[-1])
        self.assertEqual([l for l in lines if "error" in l.lower()], lines[-1:], proc.stderr)
        self.assertLessEqual(len(lines), 3, proc.stderr)
        self.assertFalse(output and os.path.exists(output), output)


if __name__ == "__main__":
  tf.test.main()
