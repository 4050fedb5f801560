"""tools/predict.py and serving/tag_documents.py: PubTator, raw text and CoNLL in and out, offsets exact."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

from tests.helpers import TESTDATA, make_run_dir
from tests.test_tokenizer import detokenize
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving import tag_documents
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENTENCES = read_conll(os.path.join(TESTDATA, "ncbi_devel_head.tsv"))


def _parse_pubtator(path):
  """{pmid: (title, abstract, [(start, end, mention, type)])}, strictly."""
  docs = {}
  with open(path, encoding="utf-8") as f:
    blocks = f.read().split("\n\n")
  for block in blocks:
    if not block.strip():
      continue
    lines = block.split("\n")
    pmid, t, title = lines[0].split("|", 2)
    pmid2, a, abstract = lines[1].split("|", 2)
    assert (t, a, pmid2) == ("t", "a", pmid), lines[:2]
    anns = []
    for line in lines[2:]:
      p, start, end, mention, typ, concept = line.split("\t")
      assert p == pmid
      anns.append((int(start), int(end), mention, typ))
    docs[pmid] = (title, abstract, anns)
  return docs


class PredictTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())  # own folder per class
    cls.run_dir = os.path.join(tmp, "run")
    make_run_dir(cls.run_dir)
    cls.export = export.export(cls.run_dir, os.path.join(tmp, "exports"))
    cls.pubtator = os.path.join(tmp, "in.pubtator")
    with open(cls.pubtator, "w", encoding="utf-8") as f:
      for g in range(0, len(SENTENCES) - 4, 5):
        pmid = 900 + g
        title = detokenize(SENTENCES[g].tokens)
        abstract = " ".join(detokenize(s.tokens) for s in SENTENCES[g + 1:g + 5])
        f.write(f"{pmid}|t|{title}\n{pmid}|a|{abstract}\n{pmid}\t0\t4\tword\tDisease\tD1\n\n")

  def test_pubtator_round_trip_offsets_match_the_text(self):
    outputs = []
    for model in (self.export, self.run_dir):  # a SavedModel, and a checkpoint directory
      out = os.path.join(self.get_temp_dir(), f"out{len(outputs)}.pubtator")
      tag_documents.annotate([self.pubtator], "pubtator", out, "pubtator", tag_documents.Annotator(model))
      outputs.append(_parse_pubtator(out))
    self.assertEqual(outputs[0], outputs[1])
    given = _parse_pubtator(self.pubtator)
    self.assertEqual(list(outputs[0]), list(given))
    total = 0
    for pmid, (title, abstract, anns) in outputs[0].items():
      self.assertEqual((title, abstract), given[pmid][:2])
      text = f"{title} {abstract}"
      for start, end, mention, _ in anns:
        self.assertEqual(text[start:end], mention)
        total += 1
    self.assertGreater(total, 10)

  def test_text_to_jsonl_and_conll(self):
    docs = os.path.join(self.get_temp_dir(), "docs.txt")
    with open(docs, "w", encoding="utf-8") as f:
      f.write("\n".join(" ".join(detokenize(s.tokens) for s in SENTENCES[g:g + 4])
                        for g in range(0, 20, 4)) + "\n\n")
    out = os.path.join(self.get_temp_dir(), "out.jsonl")
    counts = tag_documents.annotate([docs], "text", out, "jsonl", tag_documents.Annotator(self.export))
    with open(out, encoding="utf-8") as f:
      rows = [json.loads(line) for line in f]
    self.assertLen(rows, 5)
    self.assertEqual(counts["documents"], 5)
    self.assertEqual(rows[0]["id"], f"{docs}:1")
    for row in rows:
      for e in row["entities"]:
        self.assertEqual(row["text"][e["start"]:e["end"]], e["text"])
        self.assertBetween(e["score"], 0.0, 1.0)
    conll_out = os.path.join(self.get_temp_dir(), "out.conll")
    counts = tag_documents.annotate([docs], "text", conll_out, "conll",
                                    tag_documents.Annotator(self.export))
    tagged = read_conll(conll_out)
    self.assertEqual(" ".join(t for s in tagged for t in s.tokens).split(),
                     " ".join(t for s in SENTENCES[:20] for t in s.tokens).split())
    written = sum(t.startswith("B-") for s in tagged for t in s.tags)  # IOB2 out: one B- each
    self.assertGreater(written, 0)
    self.assertEqual(counts["entities"], written)

  def test_conll_in_keeps_gold_and_adds_predictions(self):
    path = os.path.join(TESTDATA, "ncbi_devel_head.tsv")
    out = os.path.join(self.get_temp_dir(), "pred.conll")
    counts = tag_documents.annotate([path], "conll", out, "conll",
                                    tag_documents.Annotator(self.run_dir))
    with open(out, encoding="utf-8") as f:
      blocks = [[line.split("\t") for line in block.splitlines()]
                for block in f.read().strip().split("\n\n")]
    lines = [cols for block in blocks for cols in block]
    self.assertEqual(counts["documents"], len(SENTENCES))
    # Random weights: I-X at a sentence's start or after O or another type also starts an
    # entity (conlleval's reading).
    sentences = [["O"] + [cols[2] for cols in block] for block in blocks]
    begins = sum(t.startswith("B-") or (t.startswith("I-") and p[2:] != t[2:])
                 for tags in sentences for p, t in zip(tags, tags[1:]))
    self.assertEqual(counts["entities"], begins)
    self.assertGreater(counts["entities"], 0)
    self.assertLen(lines, sum(len(s.tokens) for s in SENTENCES))
    self.assertTrue(all(len(cols) == 3 for cols in lines))
    self.assertEqual([c[:2] for c in lines], [[t, g] for s in SENTENCES
                                              for t, g in zip(s.tokens, s.tags)])

  def test_binary_and_bad_input(self):
    bad = os.path.join(self.get_temp_dir(), "bad.pubtator")
    with open(bad, "w", encoding="utf-8") as f:
      f.write("1|t|Title\n1|a|Abstract text.\nnot an annotation\n")
    out = os.path.join(self.get_temp_dir(), "never.pubtator")
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    tool = os.path.join(ROOT, "tools", "predict.py")
    ok = subprocess.run([sys.executable, tool, f"--model={self.export}", f"--input={self.pubtator}",
                         "--input_format=pubtator", "--output_format=pubtator",
                         f"--output={out}.ok"], capture_output=True, text=True, timeout=300,
                        env=env)
    self.assertEqual(ok.returncode, 0, ok.stderr[-3000:])
    self.assertIn("documents", ok.stderr)
    for args, message in (
        ([f"--input={bad}", "--input_format=pubtator"], "bad.pubtator:3: expected 'PMID|t|title'"),
        ([f"--input={bad}x"], "matches no file"),
        ([f"--input={bad}", "--input_format=conll", "--output_format=pubtator"],
         "no text for PubTator offsets")):
      proc = subprocess.run([sys.executable, tool, f"--model={self.export}", f"--output={out}",
                             *args], capture_output=True, text=True, timeout=300, env=env)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)
      self.assertFalse(os.path.exists(out))
      self.assertEmpty([n for n in os.listdir(self.get_temp_dir()) if ".tmp-" in n])

  def test_binary_text_stdin_and_several_models(self):
    tool = os.path.join(ROOT, "tools", "predict.py")
    env = dict(os.environ, PYTHONPATH=ROOT)
    text = detokenize(SENTENCES[0].tokens) + " " + detokenize(SENTENCES[1].tokens)
    # --text, two models, jsonl to stdout: every entity names its model(s).
    proc = subprocess.run([sys.executable, tool, f"--model={self.export},{self.run_dir}",
                           f"--text={text}"], capture_output=True, text=True, timeout=300,
                          env=env)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    (row,) = [json.loads(line) for line in proc.stdout.splitlines()]
    self.assertEqual(row["text"], text)
    self.assertGreater(len(row["entities"]), 3)
    for e in row["entities"]:
      self.assertEqual(text[e["start"]:e["end"]], e["text"])
      self.assertIn(e["model"], ("exports", "run", "exports+run"))
    # stdin: a document per line.
    docs = [detokenize(s.tokens) for s in SENTENCES[2:5]]
    proc = subprocess.run([sys.executable, tool, f"--model={self.export}", "--input=-"],
                          input="\n".join(docs) + "\n", capture_output=True, text=True,
                          timeout=300, env=env)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    self.assertEqual([r["text"] for r in rows], docs)
    self.assertEqual([r["id"] for r in rows], ["<stdin>:1", "<stdin>:2", "<stdin>:3"])

  def test_truncated_checkpoint_is_a_clear_error(self):
    broken = os.path.join(self.get_temp_dir(), "broken_run")
    shutil.copytree(self.run_dir, broken)
    best = os.path.join(broken, "best")
    data = [f for f in os.listdir(best) if ".data-" in f][0]
    with open(os.path.join(best, data), "r+b") as f:
      f.truncate(50)
    with self.assertRaisesRegex(run_dir_lib.RunDirError, r"best/ckpt-1: unreadable checkpoint"):
      checkpoints.restore_tagger(broken)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "evaluate.py"),
                           f"--run_dir={broken}", f"--data={TESTDATA}/ncbi_devel_head.tsv"],
                          capture_output=True, text=True, timeout=300, env=env)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("unreadable checkpoint", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
