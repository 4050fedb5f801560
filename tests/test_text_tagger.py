"""load_tagger / TextTagger: raw text -> spans, one model or several after one tokenisation.

The reference is the exported graph's own `tag_text` signature (tokenisation, sentence
splitting and span decoding in TensorFlow ops): the Python path must give the same spans.
Models have random weights (tests/helpers.make_run_dir), so they predict entities of every
type almost everywhere, which exercises spans, pieces and merging far more than a trained
model's mostly-O output.
"""
import contextlib
import io
import os
import re
import shutil
import tempfile
from unittest import mock

import tensorflow as tf

from tests.helpers import TESTDATA, make_run_dir
from tests.test_tokenizer import detokenize
from tf_bilm_ner import load_tagger
from tf_bilm_ner.config import ConfigError
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.serving import export, text_tagger
from tf_bilm_ner.serving.annotator import Annotator

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
SENTENCES = read_conll(os.path.join(TESTDATA, "ncbi_devel_head.tsv"))
TEXTS = [
    " ".join(detokenize(s.tokens) for s in SENTENCES[:4]),   # an abstract-like paragraph
    detokenize(SENTENCES[5].tokens) + "\n\n" + detokenize(SENTENCES[6].tokens),  # blank line
    "",
    "   \n ",
    "Die Ataxia-telangiectasia (A-T) ist selten: ca. 1/40.000 Geburten; Müller et al. 2001.",
    " ".join(["word"] * 23) + ".",  # longer than max_tokens: tagged in pieces
]


def _key(span):
  return (span["start"], span["end"], span["type"], span["text"])


class TextTaggerTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())
    cls.runs, cls.exports = [], []
    for seed, name in ((5, "alpha"), (7, "beta")):
      run = os.path.join(tmp, "runs", name)
      make_run_dir(run, seed=seed)
      cls.runs.append(run)
      cls.exports.append(export.export(run, os.path.join(tmp, name), version=1,
                                       export_config=export.ExportConfig(max_tokens=7)))

  def _graph(self, path):
    """The reference: the SavedModel's tag_text signature, per text a list of dicts."""
    return Annotator(path).tag_texts(TEXTS)

  def test_one_model_matches_the_graph(self):
    tagger = load_tagger(self.exports[0])
    got = tagger(TEXTS)
    want = self._graph(self.exports[0])
    self.assertLen(got, len(TEXTS))
    self.assertGreater(sum(map(len, want)), 10)
    for spans, ref in zip(got, want):
      self.assertEqual([_key(s.to_dict()) for s in spans], [_key(e) for e in ref])
      self.assertAllClose([s.score for s in spans], [e["score"] for e in ref], atol=1e-4)
      self.assertTrue(all(s.model == "alpha" for s in spans))  # exports/alpha/1 -> alpha
    for text, spans in zip(TEXTS, got):
      for s in spans:
        self.assertEqual(text[s.start:s.end], s.text)
    # One text -> a list of spans; a run directory (no export; max_tokens 512) as its graph.
    single = tagger(TEXTS[0])
    self.assertEqual([_key(s.to_dict()) for s in single], [_key(s.to_dict()) for s in got[0]])
    self.assertAllClose([s.score for s in single], [s.score for s in got[0]], atol=1e-4)
    from_run = load_tagger(self.runs[0])(TEXTS)
    for spans, ref in zip(from_run, self._graph(self.runs[0])):
      self.assertEqual([_key(s.to_dict()) for s in spans], [_key(e) for e in ref])

  def test_xla_path_tags_single_sentences_alike(self):
    """load_tagger(xla_max_tokens=N): one sentence per call through the XLA-compiled model
    (rebuilt from the SavedModel, or from the run directory) gives the same spans."""
    texts = [detokenize(s.tokens[:7]) for s in SENTENCES[:5]] + [TEXTS[2]]
    for path in (self.exports[0], self.runs[0]):
      portable, xla = load_tagger(path), load_tagger(path, xla_max_tokens=7)
      model = xla.models[0][1]
      self.assertEqual(model.limits.xla_max_tokens, 7)
      self.assertTrue(model.serving_default.fast)
      found = 0
      for text in texts:
        want, got = portable(text), xla(text)
        self.assertEqual([_key(s.to_dict()) for s in got], [_key(s.to_dict()) for s in want])
        self.assertAllClose([s.score for s in got], [s.score for s in want], atol=1e-4)
        found += len(got)
      self.assertGreater(found, 3)
    for path in (self.exports[0], self.runs[0]):
      with self.assertRaisesRegex(ConfigError, "xla_max_tokens must be >= 0, got -1"):
        load_tagger(path, xla_max_tokens=-1)
    with mock.patch.object(export.TaggerModule, "_model_padded_xla",
                           side_effect=AssertionError("XLA path taken")):
      with self.assertRaisesRegex(Exception, "XLA path taken"):
        load_tagger(self.exports[0], xla_max_tokens=7)(texts[0])

  def test_several_models_keep_all_spans_and_merge_duplicates(self):
    got = load_tagger(f"{self.exports[0]},{self.exports[1]}")(TEXTS)
    a, b = self._graph(self.exports[0]), self._graph(self.exports[1])
    merged_somewhere = False
    for spans, ra, rb in zip(got, a, b):
      want = {}
      for model, ref in (("alpha", ra), ("beta", rb)):
        for e in ref:
          key = _key(e)
          if key in want:
            want[key] = (max(want[key][0], e["score"]), want[key][1] + "+" + model)
            merged_somewhere = True
          else:
            want[key] = (e["score"], model)
      self.assertEqual(sorted(_key(s.to_dict()) for s in spans), sorted(want))
      for s in spans:
        score, model = want[_key(s.to_dict())]
        self.assertEqual(s.model, model)
        self.assertAlmostEqual(s.score, score, delta=1e-4)
      self.assertEqual(spans, sorted(spans, key=lambda s: (s.start, s.end, s.type, s.model)))
    self.assertTrue(merged_somewhere)

  def test_resolve_names(self):
    shipped = tempfile.mkdtemp(dir=self.get_temp_dir())
    for name in ("disease", "gene"):
      shutil.copytree(self.exports[0] if name == "disease" else self.exports[1],
                      os.path.join(shipped, name))
    os.makedirs(os.path.join(shipped, "some_bilm"))  # not a tagger: no saved_model.pb
    with mock.patch.object(text_tagger, "SHIPPED_DIR", shipped):
      self.assertEqual(text_tagger.shipped_taggers(), ["disease", "gene"])
      self.assertEqual([n for n, _ in text_tagger.resolve("gene")], ["gene"])
      self.assertEqual([n for n, _ in text_tagger.resolve(["all"])], ["disease", "gene"])
      self.assertEqual([n for n, _ in text_tagger.resolve("gene,all")], ["gene", "disease"])
      self.assertEqual([n for n, _ in text_tagger.resolve(f"{self.runs[1]}, disease")],
                       ["beta", "disease"])
      with self.assertRaisesRegex(text_tagger.ModelNotFoundError,
                                  r"^chemical: no such SavedModel or run directory, nor a "
                                  r"tagger shipped in .* \(shipped: disease, gene\)$"):
        text_tagger.resolve("disease,chemical")
      with self.assertRaisesRegex(text_tagger.ModelNotFoundError, "two models are named 'alpha'"):
        text_tagger.resolve([self.exports[0], self.runs[0]])
      with self.assertRaisesRegex(text_tagger.ModelNotFoundError, "no model given"):
        text_tagger.resolve(" , ")
    with mock.patch.object(text_tagger, "SHIPPED_DIR", os.path.join(shipped, "none")):
      with self.assertRaisesRegex(text_tagger.ModelNotFoundError, "'all': no taggers shipped"):
        text_tagger.resolve("all")

  def test_readme_example_runs_as_printed(self):
    with open(README, encoding="utf-8") as f:
      block = re.search(r"```python\n(from tf_bilm_ner import load_tagger\n.*?)```", f.read(),
                        re.S).group(1)
    model = re.search(r'load_tagger\("([^"]+)"\)', block).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
      exec(block.replace(model, self.exports[0]), {})  # pylint: disable=exec-used
    lines = printed.getvalue().splitlines()
    self.assertNotEmpty(lines)
    for line in lines:
      self.assertRegex(line, r"^\d+-\d+ \S+ '[^']+' [01]\.\d{3} alpha$")

  def test_rejects_what_is_not_text(self):
    with self.assertRaisesRegex(TypeError, r"texts\[1\] is bytes, expected str"):
      load_tagger(self.exports[0])(["ok", b"bytes"])


if __name__ == "__main__":
  tf.test.main()
