"""Checkpoint surgery: BiLM encoder weights into a tagger, by variable and by vocabulary string."""
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from tests.helpers import run_tool as _run

from tests.test_bilm_training import _shards
from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import packaging
from tf_bilm_ner.transfer import surgery
from tf_bilm_ner.transfer import tagger_init
from tf_bilm_ner.transfer import warm_start

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "tests", "testdata")
SIZES = ["--word_dim=23", "--char_dim=7", "--char_filters=19", "--lstm_units=29"]
ENC_NAMES = sorted(f"model/encoder/{k}" for k in surgery.ENCODER_VARIABLES)


class TransferTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # A BiLM written by another process: the train_bilm binary, a few steps.
    cls.tmp = tempfile.mkdtemp(dir=tf.compat.v1.test.get_temp_dir())  # own folder per class
    shards = cls.shards = _shards(os.path.join(cls.tmp, "corpus"))
    cls.bilm_dir = os.path.join(cls.tmp, "bilm")
    proc = _run("train_bilm.py", f"--shards_dir={shards}", f"--run_dir={cls.bilm_dir}",
                "--max_words=400", "--num_sampled=31", "--batch_tokens=397", "--max_steps=3",
                "--overwrite", *SIZES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cls.source = surgery.load_source(cls.bilm_dir)
    cls.reader = tf.train.load_checkpoint(cls.source.checkpoint)

  def _tagger(self, words, chars, num_tags=3):
    config = TaggerConfig(encoder=dataclasses_replace(
        self.source.config.encoder, word_vocab_size=len(words), char_vocab_size=len(chars),
        dropout=0.5, word_dropout=0.1), num_tags=num_tags)
    tagger = Tagger(config)
    checkpoints.build_variables(tagger)
    return tagger

  def _bilm_value(self, name):
    return self.reader.get_tensor(f"model/encoder/{name}{surgery.SUFFIX}")

  def test_mapped_variables_equal_the_bilm_and_the_log_table_is_pinned(self):
    src = self.source
    tagger = self._tagger(vocab_lib.Vocabulary(list(src.words.entries[:2]) +
                                               list(src.words.entries[4:])), src.chars)
    before = {v.name: v.numpy() for v in tagger.trainable_variables}
    report = surgery.transfer(tagger.encoder, vocab_lib.Vocabulary(
        list(src.words.entries[:2]) + list(src.words.entries[4:])), src.chars, src,
        left=["projection", "crf"])
    for short, get in surgery.ENCODER_VARIABLES.items():
      value = self._bilm_value(short)
      if short == "word_embedding/embeddings":  # tagger lacks <s>, </s>: rows shift by 2
        value = np.concatenate([value[:2], value[4:]])
      self.assertAllEqual(get(tagger.encoder).numpy(), value, msg=short)
    for v in tagger.trainable_variables:  # projection and CRF untouched
      if "encoder" not in v.name:
        self.assertAllEqual(v.numpy(), before[v.name])
    self.assertEqual(sorted(n for n, s, _ in report.rows if s == "mapped"), ENC_NAMES)
    skipped = {n for n, s, _ in report.rows if s == "skipped"}
    # Adam's m and v for the 12 trainable variables (10 encoder + 2 softmax) are _variables/1-24.
    self.assertEqual(skipped, {
        "model/softmax_weights", "model/softmax_biases", "epoch", "batches_in_epoch",
        "save_counter", "epoch_loss_forward", "epoch_loss_backward", "epoch_batches",
        "epoch_tokens", "_CHECKPOINTABLE_OBJECT_GRAPH", "optimizer/_iterations",
        "optimizer/_learning_rate", *(f"optimizer/_variables/{i}" for i in range(1, 25))})
    self.assertEqual([n for n, s, _ in report.rows if s == "left"], ["projection", "crf"])
    self.assertEqual((report.words_mapped, report.words_fresh), (len(src.words) - 2, 0))

  def test_reordered_and_missing_words_map_by_string(self):
    src = self.source
    rng = np.random.RandomState(0)
    some = list(src.words.entries[4:])
    rng.shuffle(some)
    tagger_words = vocab_lib.Vocabulary(["<pad>", "<unk>"] + some[:50] + ["zzznever", "qqq"] +
                                        some[50:80])
    chars = vocab_lib.Vocabulary(["<pad>", "<unk>", "\u03b2", *reversed(src.chars.entries[2:])])
    tagger = self._tagger(tagger_words, chars)
    init_words = tagger.encoder.word_embedding.embeddings.numpy()
    init_chars = tagger.encoder.char_cnn.embedding.embeddings.numpy()
    report = surgery.transfer(tagger.encoder, tagger_words, chars, src)
    words = tagger.encoder.word_embedding.embeddings.numpy()
    bilm_words = self._bilm_value("word_embedding/embeddings")
    for i, w in enumerate(tagger_words.entries):
      if w in src.words:
        self.assertAllEqual(words[i], bilm_words[src.words.id(w)], msg=w)
      else:
        self.assertAllEqual(words[i], init_words[i], msg=w)  # fresh row kept
    self.assertEqual((report.words_mapped, report.words_fresh), (82, 2))
    got_chars = tagger.encoder.char_cnn.embedding.embeddings.numpy()
    bilm_chars = self._bilm_value("char_cnn/embedding/embeddings")
    self.assertAllEqual(got_chars[2], init_chars[2])  # a character the BiLM never saw
    for i, c in enumerate(chars.entries):
      if c in src.chars:
        self.assertAllEqual(got_chars[i], bilm_chars[src.chars.id(c)], msg=c)
    self.assertEqual(report.chars_fresh, 1)

  def test_extend_appends_bilm_entries(self):
    mine = vocab_lib.Vocabulary(["<pad>", "<unk>", "tumour", "zzznever"])
    ext = surgery.extend(mine, self.source.words)
    self.assertEqual(ext.entries[:4], mine.entries)
    self.assertNotIn("<s>", ext.entries)
    self.assertEqual(len(ext), 4 + sum(1 for w in self.source.words.entries[4:]
                                       if w not in ("tumour", "zzznever")))

  def test_errors(self):
    src = self.source
    wrong = Tagger(TaggerConfig(encoder=dataclasses_replace(
        src.config.encoder, lstm_units=30), num_tags=3))
    checkpoints.build_variables(wrong)
    with self.assertRaisesRegex(surgery.TransferError, "lstm_units: tagger 30, BiLM 29"):
      surgery.transfer(wrong.encoder, src.words, src.chars, src)
    # A tagger checkpoint is not a BiLM checkpoint.
    tagger = self._tagger(src.words, src.chars)
    path = tf.train.Checkpoint(model=tagger).write(os.path.join(self.get_temp_dir(), "t"))
    with self.assertRaisesRegex(surgery.TransferError, "unexpected variable model/crf"):
      surgery.transfer(tagger.encoder, src.words, src.chars,
                        dataclasses_replace(src, checkpoint=path))
    # A truncated BiLM checkpoint (a copy of the real one, data file cut short).
    copy = os.path.join(self.get_temp_dir(), "cut")
    os.makedirs(copy, exist_ok=True)
    for f in tf.io.gfile.glob(src.checkpoint + ".*"):
      tf.io.gfile.copy(f, os.path.join(copy, os.path.basename(f)), overwrite=True)
    prefix = os.path.join(copy, os.path.basename(src.checkpoint))
    with open(tf.io.gfile.glob(prefix + ".data-*")[0], "r+b") as f:
      f.truncate(100)
    with self.assertRaisesRegex(surgery.TransferError, "cut/ckpt-.*: unreadable checkpoint"):
      surgery.transfer(tagger.encoder, src.words, src.chars,
                        dataclasses_replace(src, checkpoint=prefix))
    with self.assertRaisesRegex(surgery.TransferError, "no checkpoint found|not a usable"):
      surgery.load_source(self.get_temp_dir())

  def test_train_tagger_from_bilm(self):
    run_dir = os.path.join(self.get_temp_dir(), "tagger")
    train = os.path.join(TESTDATA, "ncbi_train_head.tsv")
    args = [f"--run_dir={run_dir}", f"--train={train}", f"--devel={train}", "--notest_eval",
            f"--init_from_bilm={self.bilm_dir}", "--max_epochs=1", "--batch_tokens=397"]
    proc = _run("train_tagger.py", *args)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(os.path.join(run_dir, "transfer.json")) as f:
      report = json.load(f)
    self.assertEqual(sorted(r[0] for r in report["rows"] if r[1] == "mapped"), ENC_NAMES)
    with open(os.path.join(run_dir, "tagger_config.json")) as f:
      enc = json.load(f)["encoder"]
    self.assertEqual((enc["word_dim"], enc["lstm_units"]), (23, 29))  # the BiLM's sizes
    self.assertGreaterEqual(enc["word_vocab_size"], len(self.source.words) - 2)
    # Sizes that contradict the BiLM: one clear line.
    proc = _run("train_tagger.py", *args[1:], f"--run_dir={run_dir}2", "--lstm_units=31")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("lstm_units: tagger 31, BiLM 29", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)

  def test_bilm_features_stay_frozen_and_export(self):
    """--bilm_features: a frozen copy of the BiLM beside the fine-tuned encoder, a top BiLSTM;
    the copy keeps the BiLM's weights (<unk>'s row for words it lacks), the export serves."""
    run_dir = os.path.join(self.get_temp_dir(), "features")
    train = os.path.join(TESTDATA, "ncbi_train_head.tsv")
    proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={train}",
                f"--devel={train}", "--notest_eval", f"--init_from_bilm={self.bilm_dir}",
                "--bilm_features", "--top_lstm_units=5", "--max_epochs=1", "--batch_tokens=397")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    words = run_dir_lib.Vocabs.load(os.path.join(run_dir, "vocab")).words
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "best"))
    get = lambda name: reader.get_tensor(f"model/{name}{surgery.SUFFIX}")
    for short in surgery.ENCODER_VARIABLES:
      if "embeddings" not in short:
        self.assertAllEqual(get(f"bilm_encoder/{short}"), self._bilm_value(short))
    self.assertNotAllClose(get("encoder/forward_lstm/cell/kernel"),
                           self._bilm_value("forward_lstm/cell/kernel"))   # the trained copy
    frozen, bilm = get("bilm_encoder/word_embedding/embeddings"), \
        self._bilm_value("word_embedding/embeddings")
    unknown = [i for i, w in enumerate(words.entries) if i > 1 and w not in self.source.words]
    self.assertNotEmpty(unknown)
    for i, w in enumerate(words.entries[2:], start=2):
      want = bilm[vocab_lib.UNK_ID] if i in unknown else bilm[self.source.words.id(w)]
      self.assertAllEqual(frozen[i], want, msg=w)
    self.assertEqual(get("top_forward_lstm/cell/recurrent_kernel").shape, (5, 20))
    export = os.path.join(self.get_temp_dir(), "features_export")
    proc = _run("export_saved_model.py", f"--run_dir={run_dir}", f"--export_dir={export}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    served = tf.saved_model.load(os.path.join(export, "1"))
    out = served.signatures["serving_default"](
        tokens=tf.constant([["Ataxia", "telangiectasia", "is", "rare", "."]]),
        lengths=tf.constant([5]))
    self.assertEqual(out["tags"].shape, (1, 5))
    # Without a BiLM to copy, the option is one clear line.
    proc = _run("train_tagger.py", f"--run_dir={run_dir}_none", f"--train={train}",
                f"--devel={train}", "--notest_eval", "--bilm_features", "--max_epochs=1")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("bilm_features needs a BiLM to copy", proc.stderr)

  def test_fine_tuning_moves_only_the_rows_train_reaches(self):
    """A train set far smaller than the BiLM's vocabulary: Adam is restricted to its rows
    (row_adam), the BiLM's other words keep their pretrained rows exactly, train's move."""
    run_dir = os.path.join(self.get_temp_dir(), "small")
    train = os.path.join(self.get_temp_dir(), "small_train.tsv")
    with open(os.path.join(TESTDATA, "ncbi_train_head.tsv")) as src:
      lines = src.readlines()[:150]
    with open(train, "w") as f:  # whole sentences: up to the last blank line
      f.writelines(lines[:max(i for i, l in enumerate(lines) if not l.strip()) + 1])
    proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={train}",
                f"--devel={train}", "--notest_eval", f"--init_from_bilm={self.bilm_dir}",
                "--max_epochs=2", "--batch_tokens=397")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("Adam updates only those", proc.stderr)
    words = run_dir_lib.Vocabs.load(os.path.join(run_dir, "vocab")).words
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "ckpt"))
    table = reader.get_tensor(f"model/encoder/word_embedding/embeddings{surgery.SUFFIX}")
    bilm = self._bilm_value("word_embedding/embeddings")
    reached = set(vocab_lib.normalize_word_list([t for s in read_conll(train) for t in s.tokens]))
    kept = moved = 0
    for i, w in enumerate(words.entries[2:], start=2):
      if w not in self.source.words:
        continue
      row, pretrained = table[i], bilm[self.source.words.id(w)]
      if w in reached:
        moved += int(np.abs(row - pretrained).max() > 0)
      else:
        self.assertAllEqual(row, pretrained, msg=w)
        kept += 1
    self.assertGreater(kept, 100)
    self.assertGreater(moved, 10)

  def test_freeze_word_embeddings(self):
    """--freeze_word_embeddings: every row keeps the BiLM's vector (train's words too); the
    LSTMs above it still learn."""
    run_dir = os.path.join(self.get_temp_dir(), "frozen_words")
    train = os.path.join(TESTDATA, "ncbi_train_head.tsv")
    proc = _run("train_tagger.py", f"--run_dir={run_dir}", f"--train={train}",
                f"--devel={train}", "--notest_eval", f"--init_from_bilm={self.bilm_dir}",
                "--freeze_word_embeddings", "--max_epochs=1", "--batch_tokens=397")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    words = run_dir_lib.Vocabs.load(os.path.join(run_dir, "vocab")).words
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "ckpt"))
    get = lambda name: reader.get_tensor(f"model/encoder/{name}{surgery.SUFFIX}")
    table, bilm = get("word_embedding/embeddings"), self._bilm_value("word_embedding/embeddings")
    shared = [(i, w) for i, w in enumerate(words.entries[2:], start=2) if w in self.source.words]
    self.assertGreater(len(shared), 100)
    for i, w in shared:
      self.assertAllEqual(table[i], bilm[self.source.words.id(w)], msg=w)
    self.assertNotAllClose(get("forward_lstm/cell/kernel"),
                           self._bilm_value("forward_lstm/cell/kernel"))
    # Adam keeps no slots for the frozen table, and restricts none of its rows.
    shapes = reader.get_variable_to_shape_map()
    slots = [shapes[k] for k in shapes if k.startswith("optimizer/")]
    self.assertGreater(len(slots), 10)
    self.assertNotIn(list(table.shape), slots)
    self.assertNotIn("Adam updates only those", proc.stderr)

  def test_transfer_checkpoint_binary(self):
    out = os.path.join(self.get_temp_dir(), "init")
    train = os.path.join(TESTDATA, "ncbi_train_head.tsv")
    proc = _run("transfer_checkpoint.py", f"--bilm={self.source.checkpoint}", f"--train={train}",
                f"--output_dir={out}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("transfer mapped", proc.stderr)
    config = TaggerConfig.load(os.path.join(out, "tagger_config.json"))
    vocabs = run_dir_lib.Vocabs.load(os.path.join(out, "vocab"))
    tagger = Tagger(config)
    checkpoints.build_variables(tagger)
    tf.train.Checkpoint(model=tagger).read(os.path.join(out, "init", "ckpt")).assert_consumed()
    for short, get in surgery.ENCODER_VARIABLES.items():
      if "embeddings" not in short:
        self.assertAllEqual(get(tagger.encoder).numpy(), self._bilm_value(short))
    w = vocabs.words.entries[5]
    self.assertAllEqual(tagger.encoder.word_embedding.embeddings.numpy()[5],
                        self._bilm_value("word_embedding/embeddings")[self.source.words.id(w)])
    proc = _run("transfer_checkpoint.py", f"--bilm={self.source.checkpoint}",
                f"--output_dir={out}")
    self.assertIn("exists; pass --overwrite", proc.stderr)

  def test_transfer_reads_untyped_and_pubtator_files(self):
    untyped = os.path.join(self.get_temp_dir(), "untyped.tsv")
    with open(untyped, "w", encoding="utf-8") as f:
      f.write("IL-2\tB\ngene\tI\nexpression\tO\n\n")
    pubtator = os.path.join(self.get_temp_dir(), "train.pubtator")
    with open(pubtator, "w", encoding="utf-8") as f:
      f.write("7|t|Ataxia telangiectasia.\n7|a|It is rare.\n"
              "7\t0\t21\tAtaxia telangiectasia\tDisease\tD001260\n\n")
    for path, want in ((untyped, ["B-Gene", "I-Gene"]), (pubtator, ["B-Disease", "I-Disease"])):
      with self.subTest(os.path.basename(path)):
        out = os.path.join(self.get_temp_dir(), "init_" + os.path.basename(path))
        tagger_init.write_tagger_init(self.source.checkpoint, path, out, entity_type="Gene")
        tags = run_dir_lib.Vocabs.load(os.path.join(out, "vocab")).tags.entries
        self.assertEqual([t for t in tags if t[:2] in ("B-", "I-")], want)

  def test_package_float16_and_float32(self):
    for dtype in ("float16", "float32"):
      out = os.path.join(self.get_temp_dir(), f"package_{dtype}")
      proc = _run("package_bilm.py", f"--bilm={self.bilm_dir}", f"--output_dir={out}",
                  f"--dtype={dtype}", f"--valid_shards={self.shards}/valid-*")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      with open(os.path.join(out, packaging.MANIFEST)) as f:
        manifest = json.load(f)
      self.assertEqual((manifest["dtype"], manifest["steps"]), (dtype, 3))
      ppl = manifest["valid_perplexity_by_storage"]
      for direction in ("forward", "backward"):
        self.assertAllClose(ppl["stored"][direction], ppl["float32"][direction],
                            rtol=1e-6 if dtype == "float32" else 1e-2)
      self.assertIn("vocab/words.txt", manifest["files_sha256_prefix"])
      self.assertEqual([os.path.basename(i["path"]) for i in manifest["shards"]["inputs"]],
                       ["text.txt"])
      source = surgery.load_source(out)
      reader = tf.train.load_checkpoint(source.checkpoint)
      keys = {k for k in reader.get_variable_to_shape_map() if "model/" in k}
      self.assertEqual(sorted(k[:-len(surgery.SUFFIX)] for k in keys), ENC_NAMES)  # no softmax
      tagger = self._tagger(source.words, source.chars)
      surgery.transfer(tagger.encoder, source.words, source.chars, source)
      for short, get in surgery.ENCODER_VARIABLES.items():
        want = self._bilm_value(short).astype(dtype).astype("float32")
        self.assertAllEqual(get(tagger.encoder).numpy(), want)  # float16 rounding, nothing else
    proc = _run("package_bilm.py", f"--bilm={self.bilm_dir}", f"--output_dir={out}")
    self.assertIn("exists; pass --overwrite", proc.stderr)
    with self.assertRaisesRegex(surgery.TransferError, "nor a shipped BiLM of that name"):
      surgery.load_source("no_such_bilm")

  def test_continue_pretraining_from_a_package_with_softmax(self):
    package = os.path.join(self.get_temp_dir(), "package_softmax")
    proc = _run("package_bilm.py", f"--bilm={self.bilm_dir}", f"--output_dir={package}",
                "--include_softmax")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(os.path.join(package, packaging.MANIFEST)) as f:
      self.assertTrue(json.load(f)["includes_softmax"])
    run = os.path.join(self.get_temp_dir(), "continued")
    proc = _run("train_bilm.py", f"--shards_dir={self.shards}", f"--run_dir={run}",
                f"--init_from_bilm={package}", "--num_sampled=31", "--batch_tokens=397",
                "--max_steps=1", "--learning_rate=1e-10")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("pretraining continues from", proc.stderr)
    with open(os.path.join(run, "report.json")) as f:
      report = json.load(f)
    self.assertTrue(report["finished"])
    self.assertEqual(len(report["starts"]), 1)
    self.assertIn("--init_from_bilm", report["starts"][0]["command"])
    with open(os.path.join(run, "vocab", "words.txt")) as f, \
        open(os.path.join(package, "vocab", "words.txt")) as g:
      self.assertEqual(f.read(), g.read())   # the source's vocabulary, not a new one
    # Learning rate 1e-10: after one step every weight is the package's float16 value.
    stored = tf.train.load_checkpoint(surgery.load_source(package).checkpoint)
    after = tf.train.load_checkpoint(surgery.load_source(run).checkpoint)
    for key in [k for k in stored.get_variable_to_shape_map() if k.startswith("model/")]:
      self.assertAllClose(after.get_tensor(key), stored.get_tensor(key).astype("float32"),
                          rtol=0, atol=1e-8)
    self.assertIn("model/softmax_weights" + surgery.SUFFIX, stored.get_variable_to_shape_map())
    # The package says where its source stopped (3 steps into epoch 0), and a continuation
    # can start there.
    with open(os.path.join(package, packaging.MANIFEST)) as f:
      self.assertEqual(json.load(f)["source_position"], {"epoch": 0, "batches_in_epoch": 3})
    proc = _run("train_bilm.py", f"--shards_dir={self.shards}", f"--run_dir={run}_position",
                f"--init_from_bilm={package}", "--init_position", "--num_sampled=31",
                "--batch_tokens=397", "--max_steps=1")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("starting at epoch 0, batch 3, where the source stopped", proc.stderr)
    # A package without the softmax, or other sizes, is refused with one line.
    plain = os.path.join(self.get_temp_dir(), "package_plain")
    self.assertEqual(_run("package_bilm.py", f"--bilm={self.bilm_dir}",
                          f"--output_dir={plain}").returncode, 0)
    proc = _run("train_bilm.py", f"--shards_dir={self.shards}",
                f"--run_dir={run}_plain", f"--init_from_bilm={plain}", "--max_steps=1")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("continuing pretraining needs the softmax", proc.stderr)
    proc = _run("train_bilm.py", f"--shards_dir={self.shards}", f"--run_dir={run}_sizes",
                f"--init_from_bilm={package}", "--lstm_units=30", "--max_steps=1")
    self.assertIn("--lstm_units=30 but the BiLM in --init_from_bilm has lstm_units=29",
                  proc.stderr)

  def test_continue_from_a_package_without_softmax_fits_a_new_one_first(self):
    """A shipped BiLM has no softmax: --softmax_warmup_steps=N trains a new one for N steps
    with the encoder frozen (it keeps the package's values exactly), then everything."""
    plain = os.path.join(self.get_temp_dir(), "package_no_softmax")
    self.assertEqual(_run("package_bilm.py", f"--bilm={self.bilm_dir}",
                          f"--output_dir={plain}").returncode, 0)
    run = os.path.join(self.get_temp_dir(), "adapted")
    flags = [f"--shards_dir={self.shards}", f"--run_dir={run}", f"--init_from_bilm={plain}",
             "--softmax_warmup_steps=2", "--num_sampled=31", "--batch_tokens=397"]
    proc = _run("train_bilm.py", *flags, "--max_steps=2")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("no softmax in it: a new one, trained alone first", proc.stderr)
    stored = tf.train.load_checkpoint(surgery.load_source(plain).checkpoint)
    def weights(reader):
      return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
              if k.startswith("model/") and "OPTIMIZER" not in k}
    warmed = weights(tf.train.load_checkpoint(surgery.load_source(run).checkpoint))
    for key in ENC_NAMES:
      key += surgery.SUFFIX
      self.assertAllEqual(warmed[key], stored.get_tensor(key).astype("float32"))
    proc = _run("train_bilm.py", *flags, "--max_steps=3")  # resumes: step 3 trains everything
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("softmax warm-up done after 2 steps", proc.stderr)
    after = weights(tf.train.load_checkpoint(surgery.load_source(run).checkpoint))
    for key in ENC_NAMES + ["model/softmax_weights", "model/softmax_biases"]:
      key += surgery.SUFFIX
      self.assertNotAllClose(after[key], warmed[key], msg=key)
    proc = _run("train_bilm.py", f"--shards_dir={self.shards}", f"--run_dir={run}_bad",
                "--softmax_warmup_steps=2", "--max_steps=1")
    self.assertIn("--softmax_warmup_steps needs --init_from_bilm", proc.stderr)

  def test_package_chains_the_history_of_earlier_runs(self):
    """A BiLM pretrained in three runs (each continuing the last) gets one per-epoch history:
    the earlier runs' rows (oldest first), then its own, each naming its run."""
    def fake_run(name, epochs, command):
      directory = os.path.join(self.get_temp_dir(), name)
      shutil.copytree(self.bilm_dir, directory, dirs_exist_ok=True)
      with open(os.path.join(directory, "history.jsonl"), "w") as f:
        for e in epochs:
          f.write(json.dumps({"epoch": e, "valid_perplexity_forward": 90.0 - e,
                              "valid_perplexity_backward": 99.0 - e, "step": 7}) + "\n")
      with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump({"finished": False, "history": [], "starts": [
            {"command": command, "git_commit": "abc"}]}, f)
      return directory
    first, second = fake_run("pass1", [0], "first"), fake_run("pass2", [1], "second")
    last = fake_run("pass3", [2, 3], "third")
    out = os.path.join(self.get_temp_dir(), "chained")
    proc = _run("package_bilm.py", f"--bilm={last}", f"--output_dir={out}",
                f"--earlier_runs={first},{second}")
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(os.path.join(out, packaging.MANIFEST)) as f:
      manifest = json.load(f)
    self.assertEqual([(r["run"], r["epoch"], r["valid_perplexity_backward"])
                      for r in manifest["valid_perplexity"]],
                     [("pass1", 0, 99.0), ("pass2", 1, 98.0), ("pass3", 2, 97.0),
                      ("pass3", 3, 96.0)])
    self.assertEqual(manifest["epochs"], 4)
    self.assertEqual([(r["run"], r["epochs"], r["commands"]) for r in
                      manifest["pretraining_runs"]],
                     [("pass1", [0], ["first"]), ("pass2", [1], ["second"]),
                      ("pass3", [2, 3], ["third"])])
    proc = _run("package_bilm.py", f"--bilm={last}", f"--output_dir={out}_wrong",
                f"--earlier_runs={second},{first}")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("epoch 0 does not follow epoch 1 of pass2", proc.stderr)
    self.assertFalse(os.path.exists(f"{out}_wrong"))
    missing = os.path.join(self.get_temp_dir(), "no_such_run")
    proc = _run("package_bilm.py", f"--bilm={last}", f"--output_dir={out}_missing",
                f"--earlier_runs={missing},{second}")
    self.assertNotEqual(proc.returncode, 0)
    self.assertEqual(proc.stderr.strip().splitlines()[-1],
                     f"package_bilm.py: error: {missing}: not a BiLM run (no report.json or "
                     "history.jsonl); --earlier_runs takes run directories")
    with open(os.path.join(first, "report.json"), "w") as f:
      f.write("{\n  cut short")
    proc = _run("package_bilm.py", f"--bilm={last}", f"--output_dir={out}_broken",
                f"--earlier_runs={first},{second}")
    self.assertIn(f"{first}/report.json:2: not JSON", proc.stderr)
    self.assertFalse(os.path.exists(f"{out}_missing") or os.path.exists(f"{out}_broken"))

  def test_package_of_a_run_that_goes_on_lists_the_epochs_its_checkpoint_had(self):
    """A resumed run's report.json holds the history as it was at the restart; history.jsonl
    has every finished epoch. A checkpoint named by its prefix lists the epochs it had
    finished (its loop state), not those the run finished after it."""
    run = os.path.join(self.get_temp_dir(), "going_on")
    shutil.copytree(self.bilm_dir, run)
    ckpt_epoch = warm_start.checkpoint_position(self.reader)["epoch"]
    rows = [{"epoch": e, "valid_perplexity_forward": 90.0 - e,
             "valid_perplexity_backward": 99.0 - e} for e in range(ckpt_epoch + 2)]
    with open(os.path.join(run, "history.jsonl"), "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in rows)
    with open(os.path.join(run, "report.json"), "w") as f:
      json.dump({"history": rows[:1], "starts": []}, f)   # written at the restart: stale
    epochs = lambda out: [r["epoch"] for r in json.load(
        open(os.path.join(out, packaging.MANIFEST)))["valid_perplexity"]]
    packaging.package(run, os.path.join(run, "pkg_latest"))
    self.assertEqual(epochs(os.path.join(run, "pkg_latest")), list(range(ckpt_epoch + 2)))
    prefix = os.path.join(run, "ckpt", os.path.basename(self.source.checkpoint))
    packaging.package(prefix, os.path.join(run, "pkg_prefix"))
    self.assertEqual(epochs(os.path.join(run, "pkg_prefix")), list(range(ckpt_epoch)))


def dataclasses_replace(obj, **kw):
  import dataclasses
  return dataclasses.replace(obj, **kw)


if __name__ == "__main__":
  tf.test.main()
