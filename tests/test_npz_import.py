"""tools/import_bilm_weights.py on weights the torch port trained (tests/testdata/torch_bilm,
made by its make_fixture.sh): no torch needed. The reference states in the fixture were
computed by torch; the Keras encoder must reproduce them."""
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import TESTDATA, run_tool
from tf_bilm_ner.config import EncoderConfig
from tf_bilm_ner.data import packed_corpus
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.data.sharding import CorpusError
from tf_bilm_ner.errors import OutputExistsError
from tf_bilm_ner.layers.encoder import Encoder
from tf_bilm_ner.torch_port import weights as weights_lib
from tf_bilm_ner.transfer import npz_import, surgery

FIXTURE = os.path.join(TESTDATA, "torch_bilm")
VOCAB = os.path.join(FIXTURE, "vocab")


def test_import_matches_torch_states_and_transfers(tmp_path):
  out = str(tmp_path / "pkg")
  manifest = npz_import.import_bilm(FIXTURE, VOCAB, out)
  assert manifest["reference_check_max_abs_difference"] < 1e-5
  assert manifest["valid_perplexity"][-1]["epoch"] == 3
  source = surgery.load_source(out)
  assert source.config.encoder.lstm_units == 7 and source.config.encoder.word_dim == 6
  stored = weights_lib.load_parts(os.path.join(FIXTURE, "weights"))
  reader = tf.train.load_checkpoint(source.checkpoint)
  np.testing.assert_array_equal(
      reader.get_tensor("model/encoder/forward_lstm/cell/kernel" + surgery.SUFFIX),
      stored["encoder/forward_lstm/cell/kernel"])
  # Into a tagger, by the surgery every BiLM goes through.
  words = vocab_lib.Vocabulary.load(os.path.join(VOCAB, "words.txt"), reserved=LM_RESERVED)
  tagger_words = vocab_lib.Vocabulary(["<pad>", "<unk>"] + words.entries[4:])
  chars = vocab_lib.Vocabulary.load(os.path.join(VOCAB, "chars.txt"))
  encoder = Encoder(EncoderConfig(word_vocab_size=len(tagger_words), char_vocab_size=len(chars),
                                  word_dim=6, char_dim=4, char_filters=5, lstm_units=7))
  encoder({"token_ids": tf.zeros([1, 2], tf.int32), "char_ids": tf.zeros([1, 2, 3], tf.int32),
           "lengths": tf.constant([2])})
  report = surgery.transfer(encoder, tagger_words, chars, source)
  assert report.words_mapped == len(tagger_words)
  np.testing.assert_allclose(encoder.backward_lstm.cell.recurrent_kernel.numpy(),
                             stored["encoder/backward_lstm/cell/recurrent_kernel"], rtol=1e-6)


def test_import_refuses_weights_that_do_not_reproduce_the_states(tmp_path):
  bad = tmp_path / "bad"
  shutil.copytree(FIXTURE, bad)
  arrays = weights_lib.load_parts(str(bad / "weights"))
  kernel = arrays["encoder/backward_lstm/cell/kernel"]
  kernel[:, [0, 1]] = kernel[:, [1, 0]]  # two gate columns swapped: a layout mistake
  weights_lib.save_parts(arrays, str(bad / "weights"), 1 << 20, tag="swapped")
  with pytest.raises(surgery.TransferError, match="differ from the trainer's"):
    npz_import.import_bilm(str(bad), VOCAB, str(tmp_path / "pkg"))
  assert not os.path.exists(tmp_path / "pkg")


def test_import_errors_are_one_line(tmp_path):
  other_vocab = tmp_path / "vocab"
  shutil.copytree(VOCAB, other_vocab)
  with open(other_vocab / "words.txt", "a", encoding="utf-8") as f:
    f.write("extra\n")
  with pytest.raises(surgery.TransferError, match="64 words"):
    npz_import.import_bilm(FIXTURE, str(other_vocab), str(tmp_path / "a"))
  with pytest.raises(surgery.TransferError, match="not a torch_port output"):
    npz_import.import_bilm(str(tmp_path), VOCAB, str(tmp_path / "b"))
  os.makedirs(tmp_path / "exists")
  with pytest.raises(OutputExistsError):
    npz_import.import_bilm(FIXTURE, VOCAB, str(tmp_path / "exists"))
  result = run_tool("import_bilm_weights.py", f"--weights={tmp_path}", f"--vocab_dir={VOCAB}",
                    f"--output_dir={tmp_path / 'c'}")
  assert result.returncode == 1
  assert result.stderr.strip().count("\n") == 0 and "not a torch_port output" in result.stderr


def test_packed_corpus_has_the_graph_features(tmp_path):
  shard = tmp_path / "train-00000-of-00001.txt"
  shard.write_text("IL-2 binds  the IL-2 receptor\n\n  the  cat 12\n" + "x " * 9 + "\n",
                   encoding="utf-8")
  words = vocab_lib.Vocabulary(list(LM_RESERVED) + ["the", "il-0", "x"], reserved=LM_RESERVED)
  chars = vocab_lib.Vocabulary(["<pad>", "<unk>", "I", "L", "-", "2", "t", "h", "e"])
  featurizer = Featurizer(words, chars, max_chars_per_token=4)
  arrays = packed_corpus.pack({"train": [str(shard)], "valid": [str(shard)]}, featurizer,
                              max_tokens_per_line=6)
  assert list(arrays["train_offsets"]) == [0, 5, 8, 14]   # empty line dropped, last cut at 6
  types = arrays["type_strings"][arrays["train_tokens"]]
  assert list(types[:8]) == ["IL-2", "binds", "the", "IL-2", "receptor", "the", "cat", "12"]
  # Most frequent first, ties in order of first occurrence.
  assert list(arrays["type_strings"][:3]) == ["x", "IL-2", "the"]
  expected = featurizer(tf.constant(types[None, :]))
  np.testing.assert_array_equal(arrays["type_word_ids"][arrays["train_tokens"]],
                                expected["token_ids"].numpy()[0])
  np.testing.assert_array_equal(arrays["type_char_ids"][arrays["train_tokens"]],
                                expected["char_ids"].numpy()[0])
  assert int(arrays["word_vocab_size"]) == 7 and int(arrays["char_vocab_size"]) == 9
  packed_corpus.save(str(tmp_path / "p.npz.xz"), arrays)
  back = packed_corpus.load(str(tmp_path / "p.npz.xz"))
  for k, v in arrays.items():
    np.testing.assert_array_equal(back[k], v)
  del arrays["train_offsets"]
  packed_corpus.save(str(tmp_path / "q.npz.xz"), arrays)
  with pytest.raises(packed_corpus.PackedCorpusError, match="q.npz.xz: not a packed corpus: no "
                     "train_offsets$"):
    packed_corpus.load(str(tmp_path / "q.npz.xz"))
  with pytest.raises(packed_corpus.PackedCorpusError, match="missing.npz.xz: not a packed"):
    packed_corpus.load(str(tmp_path / "missing.npz.xz"))
  empty = tmp_path / "empty.txt"
  empty.write_text("\n \n", encoding="utf-8")
  with pytest.raises(CorpusError, match="no text"):
    packed_corpus.pack({"valid": [str(empty)]}, featurizer)


def test_fixture_report_describes_its_weights():
  with open(os.path.join(FIXTURE, "report.json"), encoding="utf-8") as f:
    report = json.load(f)
  stored = weights_lib.load_parts(os.path.join(FIXTURE, "weights"))
  assert stored["encoder/word_embedding/embeddings"].shape == (
      report["sizes"]["word_vocab_size"], report["sizes"]["word_dim"])
