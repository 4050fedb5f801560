"""Streaming LM data: targets, one pass covers every line once, worker sharding, errors."""
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tf_bilm_ner.data import corpus, labeled, lm_vocab
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.sharding import CorpusError


def _name(prefix, i):
  """Digit-free word names (the word lookup maps digits to 0)."""
  return prefix + chr(97 + i // 26) + chr(97 + i % 26)


class CorpusTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = os.path.join(self.get_temp_dir(), "shards")
    os.makedirs(self.dir, exist_ok=True)
    rng = np.random.RandomState(0)
    self.lines = [" ".join(_name("w", j) for j in rng.randint(0, 40, rng.randint(1, 30)))
                  + " " + _name("s", i) for i in range(157)]
    for k in range(3):
      with open(os.path.join(self.dir, f"train-{k:05d}-of-00003.txt"), "w") as f:
        f.writelines(line + "\n" for line in self.lines[k::3])
      with open(os.path.join(self.dir, f"train-{k:05d}-of-00003.txt"), "a") as f:
        f.write("\n   \n")  # blank lines are dropped
    words = (list(lm_vocab.LM_RESERVED) + [_name("w", j) for j in range(40)] +
             [_name("s", i) for i in range(157)])
    self.words = vocab_lib.Vocabulary(words, reserved=lm_vocab.LM_RESERVED)
    chars = vocab_lib.Vocabulary(["<pad>", "<unk>"] + list("abcdefghijklmnopqrstuvwxyz"))
    self.featurizer = Featurizer(self.words, chars, max_chars_per_token=5)
    self.pattern = os.path.join(self.dir, "train-*")

  def _sentences(self, ds):
    out = []
    for b in ds:
      for row, n in zip(b["token_ids"].numpy(), b["lengths"].numpy()):
        out.append(" ".join(self.words.entries[i] for i in row[:n]))
    return out

  def test_targets(self):
    ids = tf.constant([[5, 6, 7, 0], [8, 9, 0, 0], [4, 0, 0, 0]])
    fwd, bwd = corpus.lm_targets(ids, tf.constant([3, 2, 1]))
    eos, bos = lm_vocab.EOS_ID, lm_vocab.BOS_ID
    self.assertAllEqual(fwd, [[6, 7, eos, 0], [9, eos, 0, 0], [eos, 0, 0, 0]])
    self.assertAllEqual(bwd, [[bos, 5, 6, 0], [bos, 8, 0, 0], [bos, 0, 0, 0]])

  def test_one_pass_covers_every_line_once(self):
    ds = corpus.lm_dataset(self.pattern, self.featurizer, batch_tokens=113, seed=3,
                           shuffle_buffer=50)
    got = self._sentences(ds)
    self.assertCountEqual(got, self.lines)
    self.assertNotEqual(got, self._sentences(corpus.lm_dataset(
        self.pattern, self.featurizer, 113, seed=4, shuffle_buffer=50)))
    self.assertEqual(got, self._sentences(corpus.lm_dataset(
        self.pattern, self.featurizer, 113, seed=3, shuffle_buffer=50)))
    for b in ds.take(2):
      fwd, bwd = corpus.lm_targets(b["token_ids"], b["lengths"])
      self.assertAllEqual(b["forward_targets"], fwd)
      self.assertAllEqual(b["backward_targets"], bwd)
      self.assertEqual(b["char_ids"].shape[:2], b["token_ids"].shape)

  def _reference(self, batch_tokens, seed, shuffle, max_tokens):
    """The batches as one map and filter call per line and `bucket_by_sequence_length` make
    them (the pipeline before its tokenisation was batched)."""
    files = sorted(tf.io.gfile.glob(self.pattern))
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
      ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=False)
    ds = ds.interleave(tf.data.TextLineDataset, cycle_length=3, block_length=16,
                       num_parallel_calls=3, deterministic=True)
    if shuffle:
      ds = ds.shuffle(50, seed=seed + 1, reshuffle_each_iteration=False)

    def tokenize(line):
      line = tf.strings.unicode_transcode(line, "UTF-8", "UTF-8", errors="replace")
      tokens = tf.strings.split(tf.strings.strip(line))[:max_tokens]
      return {"tokens": tokens, "lengths": tf.size(tokens, out_type=tf.int32)}

    ds = ds.map(tokenize).filter(lambda x: x["lengths"] > 0)
    ds = ds.bucket_by_sequence_length(
        lambda x: x["lengths"], bucket_boundaries=list(labeled.BUCKET_BOUNDARIES),
        bucket_batch_sizes=labeled.bucket_batch_sizes(batch_tokens),
        padded_shapes={"tokens": [None], "lengths": []},
        padding_values={"tokens": "", "lengths": 0})
    return [(b["tokens"].numpy(), b["lengths"].numpy()) for b in ds]

  def test_batches_equal_per_line_bucketing(self):
    with open(os.path.join(self.dir, "train-00001-of-00003.txt"), "a") as f:
      f.write(" ".join(_name("w", j % 40) for j in range(300)) + "\n")   # past every bucket
    for chunk in (256, 7):
      for batch_tokens, seed, shuffle, max_tokens in ((113, 3, True, 256), (1000, 5, True, 256),
                                                      (61, 1, False, 19)):
        with mock.patch.object(corpus, "TOKENIZE_LINES", chunk):
          got = list(corpus.lm_dataset(self.pattern, self.featurizer, batch_tokens, seed,
                                       shuffle=shuffle, max_tokens_per_line=max_tokens,
                                       shuffle_buffer=50))
        want = self._reference(batch_tokens, seed, shuffle, max_tokens)
        self.assertLen(got, len(want))
        for b, (tokens, lengths) in zip(got, want):
          self.assertAllEqual(b["lengths"], lengths)
          self.assertAllEqual(b["token_ids"], self.featurizer(tf.constant(tokens))["token_ids"])
          self.assertAllEqual(b["char_ids"], self.featurizer(tf.constant(tokens))["char_ids"])

  def test_workers_get_disjoint_files(self):
    seen = []
    for worker in range(2):
      ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker)
      seen.append(self._sentences(corpus.lm_dataset(self.pattern, self.featurizer, 113, seed=1,
                                                    input_context=ctx)))
    self.assertEmpty(set(seen[0]) & set(seen[1]))
    self.assertCountEqual(seen[0] + seen[1], self.lines)
    ctx = tf.distribute.InputContext(num_input_pipelines=4, input_pipeline_id=0)
    with self.assertRaisesRegex(CorpusError, "3 files for 4 workers"):
      corpus.lm_dataset(self.pattern, self.featurizer, 113, seed=1, input_context=ctx)

  def test_no_files(self):
    with self.assertRaisesRegex(CorpusError, "nothing-\\*: matches no file"):
      corpus.lm_dataset(os.path.join(self.dir, "nothing-*"), self.featurizer, 100, seed=1)

  def test_invalid_utf8_and_long_lines_do_not_fail(self):
    path = os.path.join(self.get_temp_dir(), "raw.txt")
    with open(path, "wb") as f:
      f.write(b"waa \xff wab\n" + b" ".join(b"wac" for _ in range(300)) + b"\n")
    got = self._sentences(corpus.lm_dataset(path, self.featurizer, 1000, seed=1, shuffle=False,
                                            max_tokens_per_line=7))
    self.assertEqual(got, ["waa <unk> wab", " ".join(["wac"] * 7)])


if __name__ == "__main__":
  tf.test.main()
