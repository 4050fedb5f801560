"""SavedModel export: round trip without tensorflow_addons, saved_model_cli, TF Serving REST bodies."""
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.helpers import make_run_dir
from tests.test_tokenizer import detokenize
from tf_bilm_ner import metrics
from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.data.conll import Sentence, read_conll
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.evaluation import predict_tags
from tf_bilm_ner.config import ConfigError, TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.serving import export
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def _docs(sentences, per_doc=8):
  return [" ".join(detokenize(s.tokens) for s in sentences[g:g + per_doc])
          for g in range(0, len(sentences), per_doc)]


_DEVEL = read_conll(os.path.join(ROOT, "tests", "testdata", "ncbi_devel_head.tsv"))
# 12 real sentences and 18 short prefixes of others (short enough to enumerate all taggings).
SENTENCES = _DEVEL[:12] + [Sentence(s.tokens[:n], s.tags[:n], s.line)
                           for s in _DEVEL[12:15] for n in range(1, 7)]
DOCS = _docs(_DEVEL)

LOAD_SCRIPT = """
import sys
sys.modules["tensorflow_addons"] = None  # importing it fails: serving must not need it
import json
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
fn = model.signatures["serving_default"]
batch = json.load(open(sys.argv[2]))
out = fn(tokens=tf.constant(batch["tokens"]), lengths=tf.constant(batch["lengths"], tf.int32))
text_out = model.signatures["tag_text"](text=tf.constant(batch["docs"]))
np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()},
         **{"text_" + k: v.numpy() for k, v in text_out.items()})
print("TFA_LOADED", any(m.startswith("tensorflow_addons") for m in sys.modules
                         if sys.modules[m] is not None))
"""


def _padded(sentences):
  width = max(len(s.tokens) for s in sentences)
  return {"tokens": [list(s.tokens) + [""] * (width - len(s.tokens)) for s in sentences],
          "lengths": [len(s.tokens) for s in sentences]}


def _brute_force(potentials, transitions, n):
  """Marginals [n, K] and the best sequence's probability, by enumerating K**n sequences."""
  k = potentials.shape[1]
  scores = {}
  for seq in itertools.product(range(k), repeat=n):
    scores[seq] = sum(potentials[t, seq[t]] for t in range(n)) + sum(
        transitions[seq[t - 1], seq[t]] for t in range(1, n))
  log_z = np.logaddexp.reduce(list(scores.values()))
  marginals = np.zeros((n, k))
  for seq, s in scores.items():
    for t in range(n):
      marginals[t, seq[t]] += np.exp(s - log_z)
  best = max(scores, key=scores.get)
  return marginals, best, np.exp(scores[best] - log_z)


class ExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())  # own folder per class
    cls.run_dir = os.path.join(tmp, "run")
    # An IOBES tagger: its outputs must still be IOB2 (S-X -> B-X, E-X -> I-X in the graph).
    cls.tagger, cls.vocabs = make_run_dir(cls.run_dir, scheme="iobes")
    cls.export_dir = os.path.join(tmp, "exports")
    # Chunks of 7 sentences: requests below (up to 30 sentences) span several chunks, so the
    # results' return to input order is checked too.
    with mock.patch.object(export, "CHUNK", 7):
      cls.path = export.export(cls.run_dir, cls.export_dir, export_config=export.ExportConfig(
          max_batch=31, max_tokens=77, max_text_chars=100_000))

  def test_layout(self):
    self.assertEqual(self.path, os.path.join(self.export_dir, "1"))
    self.assertCountEqual(os.listdir(os.path.join(self.path, "assets")),
                          ["words.txt", "chars.txt", "tags.txt"])
    with open(os.path.join(self.path, "assets.extra", "export_config.json")) as f:
      self.assertEqual(json.load(f), {"max_batch": 31, "max_tokens": 77,
                                      "max_chars_per_token": 9, "max_text_chars": 100_000,
                                      "max_words": 0, "embedding_dtype": "float32",
                                      "xla_max_tokens": 0, "min_entity_score": 0.0})
    self.assertEqual(export.export(self.run_dir, self.export_dir),
                     os.path.join(self.export_dir, "2"))  # next version
    with self.assertRaisesRegex(FileExistsError, "versions are immutable"):
      export.export(self.run_dir, self.export_dir, version=1)

  def test_compact_exports(self):
    """max_words: the same as a tagger built with only those words; float16: within rounding."""
    tmp = self.get_temp_dir()
    limits = dict(max_batch=31, max_tokens=77, max_text_chars=100_000)
    half = export.export(self.run_dir, os.path.join(tmp, "half"), export_config=export.ExportConfig(
        embedding_dtype="float16", **limits))
    cut = export.export(self.run_dir, os.path.join(tmp, "cut"), export_config=export.ExportConfig(
        max_words=40, **limits))
    # The reference for `cut`: a run directory whose tagger has only the first 40 words.
    small_run = os.path.join(tmp, "small_run")
    p = run_dir_lib.paths(small_run)
    config = TaggerConfig.load(os.path.join(self.run_dir, "tagger_config.json"))
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder,
                                                                     word_vocab_size=40))
    small = Tagger(config)
    checkpoints.build_variables(small)
    for mine, theirs in zip(small.weights, self.tagger.weights):
      mine.assign(theirs[:40] if "word_embedding" in mine.name else theirs)
    run_dir_lib.Vocabs(vocab_lib.Vocabulary(self.vocabs.words.entries[:40]), self.vocabs.chars,
                       self.vocabs.tags).save(p["vocab"])
    config.save(p["tagger_config"])
    tf.train.CheckpointManager(tf.train.Checkpoint(model=small), p["best"], 1).save()
    reference = export.export(small_run, os.path.join(tmp, "small"),
                              export_config=export.ExportConfig(**limits))
    batch = _padded(SENTENCES)

    def tag(path):
      fn = tf.saved_model.load(path).signatures["serving_default"]
      return fn(tokens=tf.constant(batch["tokens"]), lengths=tf.constant(batch["lengths"]))

    full, ref = tag(self.path), tag(reference)
    for name, got, want, atol in (("cut", tag(cut), ref, 1e-6), ("half", tag(half), full, 5e-3)):
      with self.subTest(name):
        same = np.mean(got["tags"].numpy() == want["tags"].numpy())
        self.assertGreaterEqual(same, 1.0 if name == "cut" else 0.97)
        self.assertAllClose(got["tag_confidence"], want["tag_confidence"],
                            atol=atol if name == "cut" else 1.0)
        if name == "half":  # where the tags agree, the marginals differ by rounding only
          agree = got["tags"].numpy() == want["tags"].numpy()
          self.assertAllClose(got["tag_confidence"].numpy()[agree],
                              want["tag_confidence"].numpy()[agree], atol=atol)
    with open(os.path.join(cut, "assets", "words.txt")) as f:
      self.assertEqual(f.read().split("\n")[:-1], self.vocabs.words.entries[:40])
    self.assertEqual(TaggerConfig.load(os.path.join(
        cut, "assets.extra", "tagger_config.json")).encoder.word_vocab_size, 40)
    reader = tf.train.load_checkpoint(os.path.join(half, "variables", "variables"))
    halves = [k for k, d in reader.get_variable_to_dtype_map().items() if d == tf.float16]
    self.assertEqual([reader.get_variable_to_shape_map()[k] for k in halves],
                     [[len(self.vocabs.words), 11]])  # the word table, and only it
    with self.assertRaisesRegex(ConfigError, "embedding_dtype must be one of"):
      export.ExportConfig(embedding_dtype="int8").validate()
    with self.assertRaisesRegex(ConfigError, "max_words must be 0"):
      export.ExportConfig(max_words=2).validate()

  def test_xla_path_gives_the_portable_results(self):
    """xla_max_tokens: one-sentence requests (padded to compiled widths inside) give the
    portable export's tags and confidences; longer ones and batches take the portable path.
    Only such an export holds XLA-compiled functions (TF Serving refuses them by default)."""
    fast = export.export(self.run_dir, os.path.join(self.get_temp_dir(), "xla"),
                         export_config=export.ExportConfig(max_batch=31, max_tokens=77,
                                                           xla_max_tokens=13))
    fns = [tf.saved_model.load(p).signatures["serving_default"] for p in (self.path, fast)]
    long = Sentence(tuple(itertools.islice(itertools.cycle(_DEVEL[0].tokens), 15)), (), 0)
    requests = [[s] for s in SENTENCES + [long, Sentence((), (), 0)]] + [SENTENCES[:3]]
    self.assertGreater(max(len(s.tokens) for s in SENTENCES), 13)
    for request in requests:
      batch = _padded(request)
      want, got = (fn(tokens=tf.constant(batch["tokens"], tf.string),
                      lengths=tf.constant(batch["lengths"], tf.int32)) for fn in fns)
      self.assertAllEqual(got["tags"], want["tags"])
      self.assertAllClose(got["tag_confidence"], want["tag_confidence"], atol=1e-5)
      self.assertAllClose(got["confidence"], want["confidence"], atol=1e-5)
    # tag_text of a one-sentence document takes the XLA path too.
    texts = [tf.constant([detokenize(s.tokens)]) for s in SENTENCES[:4]]
    text_fns = [tf.saved_model.load(p).signatures["tag_text"] for p in (self.path, fast)]
    for text in texts:
      want, got = (fn(text=text) for fn in text_fns)
      self.assertAllEqual(want["num_sentences"], [1])
      for key in ("entity_start", "entity_end", "entity_type", "num_entities"):
        self.assertAllEqual(got[key], want[key])
      self.assertAllClose(got["entity_score"], want["entity_score"], atol=1e-5)
    for path, compiled in ((self.path, False), (fast, True)):
      with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        self.assertEqual(b"_XlaMustCompile" in f.read(), compiled)
    with self.assertRaisesRegex(ConfigError, "xla_max_tokens must be >= 0"):
      export.ExportConfig(xla_max_tokens=-1).validate()

  def test_fresh_process_without_tfa_matches_the_eager_model(self):
    tmp = self.get_temp_dir()
    script, batch_file, out = (os.path.join(tmp, n) for n in ("load.py", "b.json", "o.npz"))
    with open(script, "w") as f:
      f.write(LOAD_SCRIPT)
    batch = _padded(SENTENCES)
    batch["docs"] = DOCS[:3]
    with open(batch_file, "w") as f:
      json.dump(batch, f)
    proc = subprocess.run([sys.executable, script, self.path, batch_file, out],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("TFA_LOADED False", proc.stdout)
    got = dict(np.load(out, allow_pickle=True))  # our own file: string arrays
    featurizer = Featurizer(self.vocabs.words, self.vocabs.chars, 9)
    want = predict_tags(self.tagger, featurizer, self.vocabs.tags, SENTENCES)
    self.assertLessEqual({t for s in want for t in s}, {"O", "B-Disease", "I-Disease"})
    raw = set()
    for i, s in enumerate(SENTENCES):
      n = len(s.tokens)
      self.assertEqual([t.decode() for t in got["tags"][i, :n]], want[i])
      entries = [self.vocabs.tags.entries[t] for t in got["tag_ids"][i, :n]]
      raw.update(entries)
      self.assertEqual([t.decode() for t in got["tags"][i, :n]],
                       [{"S-": "B-", "E-": "I-"}.get(e[:2], e[:2]) + e[2:] for e in entries])
      self.assertTrue(all(t == b"" for t in got["tags"][i, n:]))  # padding
    # Confidences against brute force over all tag sequences, for the short sentences.
    feats = featurizer(tf.constant(batch["tokens"]))
    feats["lengths"] = tf.constant(batch["lengths"])
    potentials = self.tagger(feats, training=False).numpy()
    transitions = self.tagger.crf.transitions.numpy()
    checked = 0
    for i, n in enumerate(batch["lengths"]):
      if n > 6:
        continue
      # float64 enumeration over float32 potentials computed at another batch shape: the
      # last digits of the potentials differ, hence 1e-4 on probabilities.
      marginals, best, prob = _brute_force(potentials[i, :n], transitions, n)
      self.assertEqual(list(got["tag_ids"][i, :n]), list(best))
      self.assertAllClose(got["tag_confidence"][i, :n], marginals[np.arange(n), list(best)],
                          atol=1e-4)
      self.assertAllClose(got["confidence"][i], prob, atol=1e-4)
      checked += 1
    self.assertEqual(checked, 18)
    self.assertLessEqual({"B-Disease", "I-Disease", "E-Disease", "S-Disease"}, raw)
    in_process = tf.saved_model.load(self.path).signatures["tag_text"](text=tf.constant(DOCS[:3]))
    for k, v in in_process.items():
      self.assertAllEqual(got["text_" + k], v, msg=k)

  def test_saved_model_cli(self):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    show = subprocess.run([cli, "show", "--dir", self.path, "--all"], capture_output=True,
                          text=True, timeout=300, env=env)
    self.assertEqual(show.returncode, 0, show.stderr[-2000:])
    for fragment in ("signature_def['serving_default']", "inputs['tokens']", "DT_STRING",
                     "inputs['lengths']", "outputs['tags']", "outputs['confidence']"):
      self.assertIn(fragment, show.stdout)
    run = subprocess.run(
        [cli, "run", "--dir", self.path, "--tag_set", "serve", "--signature_def",
         "serving_default", "--input_exprs",
         "tokens=[['BRCA1','mutations','cause','cancer','.']];lengths=[5]"],
        capture_output=True, text=True, timeout=300, env=env)
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])
    self.assertIn("Result for output key tags", run.stdout)
    self.assertIn("Result for output key confidence", run.stdout)

  def _rest(self, body, fn):
    """A TF Serving REST body -> output tensors, mapped as TF Serving maps JSON.

    Row form {"instances": [{name: value}, ...]}: each input is the instances' values
    stacked on a new first axis. Columnar form {"inputs": {name: value}}: each value is
    the whole tensor. Values take the signature's dtypes.
    """
    specs = fn.structured_input_signature[1]
    if "instances" in body:
      columns = {k: [inst[k] for inst in body["instances"]] for k in specs}
    else:
      columns = body["inputs"]
    return fn(**{k: tf.constant(v, dtype=specs[k].dtype) for k, v in columns.items()})

  def test_rest_bodies_row_and_columnar(self):
    fn = tf.saved_model.load(self.path).signatures["serving_default"]
    batch = _padded(SENTENCES[:5])
    direct = fn(tokens=tf.constant(batch["tokens"]), lengths=tf.constant(batch["lengths"]))
    rows = {"instances": [{"tokens": t, "lengths": n}
                          for t, n in zip(batch["tokens"], batch["lengths"])]}
    columnar = {"inputs": batch}
    for body in (rows, columnar):
      got = self._rest(json.loads(json.dumps(body)), fn)  # through JSON text, as sent
      for k in direct:
        self.assertAllEqual(got[k], direct[k])
    # The response TF Serving would build in row form: one object per instance, DT_STRING
    # as UTF-8 text.
    text = lambda x: [text(y) for y in x] if isinstance(x, list) else (
        x.decode("utf-8") if isinstance(x, bytes) else x)
    predictions = [{k: text(v[i].numpy().tolist()) for k, v in direct.items()}
                   for i in range(5)]
    self.assertEqual(json.loads(json.dumps(predictions))[0]["tags"][0],
                     direct["tags"][0, 0].numpy().decode())

  def test_tag_text_spans_slice_the_text_and_match_the_python_pipeline(self):
    model = tf.saved_model.load(self.path)
    out = model.signatures["tag_text"](text=tf.constant(DOCS))
    tokens_fn = model.signatures["serving_default"]
    total = 0
    for d, doc in enumerate(DOCS):
      n = int(out["num_entities"][d])
      got = [(out["entity_type"][d, i].numpy().decode(), int(out["entity_start"][d, i]),
              int(out["entity_end"][d, i])) for i in range(n)]
      for (typ, a, b), text in zip(got, out["entity_text"][d, :n].numpy()):
        self.assertEqual(doc[a:b], text.decode())
      # The same through Python: split and tokenise, tag tokens, chunk, map to offsets.
      sentences = tokenizer.tokenize_sentences(doc)
      self.assertEqual(int(out["num_sentences"][d]), len(sentences))
      batch = _padded([Sentence([t.text for t in s], [], 0) for s in sentences])
      tags = tokens_fn(tokens=tf.constant(batch["tokens"]),
                       lengths=tf.constant(batch["lengths"]))["tags"].numpy()
      want = []
      for s, row in zip(sentences, tags):
        for typ, a, b in metrics.chunks([t.decode() for t in row[:len(s)]]):
          want.append((typ, s[a].start, s[b - 1].end))
      self.assertEqual(got, want)
      total += n
    self.assertGreater(total, 10)
    for k in ("entity_start", "entity_end"):
      self.assertEqual(out[k].numpy().min(), -1)  # padding

  def test_limits_give_clear_errors(self):
    fn = tf.saved_model.load(self.path).signatures["serving_default"]
    cases = [
        (tf.fill([32, 2], "a"), tf.fill([32], 2), "max_batch=31"),
        (tf.fill([1, 78], "a"), tf.constant([78]), "max_tokens=77"),
        (tf.fill([2, 3], "a"), tf.constant([3, 4]), "larger than the number of token columns"),
        (tf.fill([2, 3], "a"), tf.constant([3]), "one entry per row"),
        (tf.fill([1, 3], "a"), tf.constant([-1]), "lengths must be >= 0"),
    ]
    for tokens, lengths, message in cases:
      with self.assertRaisesRegex(tf.errors.InvalidArgumentError, message, msg=message):
        fn(tokens=tokens, lengths=tf.cast(lengths, tf.int32))
    text_fn = tf.saved_model.load(self.path).signatures["tag_text"]
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "max_batch=31 documents"):
      text_fn(text=tf.fill([32], "a"))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "max_text_chars=100000"):
      text_fn(text=tf.constant(["a " * 30000, "\u00e9" * 40001]))  # characters, not bytes
    empty = text_fn(text=tf.constant(["", "   \n\n ", "\u00a0"]))
    self.assertAllEqual(empty["num_entities"], [0, 0, 0])
    self.assertAllEqual(empty["num_sentences"], [0, 0, 0])
    out = fn(tokens=tf.fill([2, 4], ""), lengths=tf.constant([0, 0]))  # empty sentences
    self.assertAllEqual(out["tags"], tf.fill([2, 4], ""))
    self.assertAllEqual(out["confidence"], [1.0, 1.0])

  def test_binary(self):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    tool = os.path.join(ROOT, "tools", "export_saved_model.py")
    out = os.path.join(self.get_temp_dir(), "bin_exports")
    proc = subprocess.run([sys.executable, tool, f"--run_dir={self.run_dir}",
                           f"--export_dir={out}", "--version=7"],
                          capture_output=True, text=True, timeout=300, env=env)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertTrue(os.path.exists(os.path.join(out, "7", "saved_model.pb")))
    self.assertEqual([d for d in os.listdir(out)], ["7"])  # no temporary left behind
    for args, message in (([f"--run_dir={self.run_dir}x", f"--export_dir={out}"],
                           "run directory not found"),
                          ([f"--run_dir={self.run_dir}", f"--export_dir={out}", "--version=7"],
                           "versions are immutable"),
                          ([f"--run_dir={self.run_dir}", f"--export_dir={out}",
                            "--max_batch=0"], "max_batch must be positive")):
      proc = subprocess.run([sys.executable, tool, *args], capture_output=True, text=True,
                            timeout=300, env=env)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
