"""tf.data pipelines for tagged sentences, with vocabulary lookups in the graph.

Feature names, used from data to model to serving:
  tokens    [batch, time]             tf.string, right-padded with ""
  lengths   [batch]                   tf.int32, tokens per sentence
  token_ids [batch, time]             tf.int32, 0 = padding
  char_ids  [batch, time, chars]      tf.int32, 0 = padding
  tag_ids   [batch, time]             tf.int32, labels (0 at padding)
  index     [batch]                   tf.int32, position in the input list
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import Sentence

# Bucket upper bounds (exclusive) for length bucketing; longer sentences go to
# a last bucket of their own.
BUCKET_BOUNDARIES = (8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 128, 160, 192, 256)


class Featurizer(tf.Module):
  """Raw string tokens -> model features, entirely in the graph: the one featurisation of
  training, evaluation, pretraining and the exported SavedModel.

  `words`: a Vocabulary, or a lookup table string -> id (the export's, read from its asset
  file). `chars`: a Vocabulary; its characters are looked up by code point
  (`Vocabulary.codepoint_table`), the ids `chars.lookup_table()` gives each character.
  """

  def __init__(self, words: Union[vocab_lib.Vocabulary, tf.lookup.StaticHashTable],
               chars: vocab_lib.Vocabulary, max_chars_per_token: int,
               name: str = "featurizer"):
    super().__init__(name=name)
    self.word_table = words.lookup_table() if isinstance(words, vocab_lib.Vocabulary) else words
    self.char_table = chars.codepoint_table()
    self.char_vocab_size = len(chars)
    self.max_chars = max_chars_per_token

  def __call__(self, tokens: tf.Tensor, lengths: Optional[tf.Tensor] = None
               ) -> Dict[str, tf.Tensor]:
    """tokens [batch, time] tf.string -> token_ids [batch, time], char_ids [batch, time,
    chars] int32, 0 at padding: positions at or beyond `lengths` [batch], or without
    `lengths`, the "" tokens. Bytes that are not UTF-8 are U+FFFD characters."""
    real = (tf.sequence_mask(lengths, tf.shape(tokens)[1]) if lengths is not None
            else tf.not_equal(tokens, ""))
    token_ids = tf.cast(self.word_table.lookup(vocab_lib.normalize_words(tokens)), tf.int32)
    token_ids = tf.where(real, token_ids, tf.zeros_like(token_ids))
    points = tf.strings.unicode_decode(tokens, "UTF-8", errors="replace")
    points = points[:, :, :self.max_chars]
    char_ids = tf.ragged.map_flat_values(self.char_table.lookup, points)
    shape = tf.shape(tokens, out_type=tf.int64)
    char_ids = char_ids.to_tensor(default_value=0, shape=[shape[0], shape[1], -1])
    char_ids = tf.where(real[:, :, None], char_ids, tf.zeros_like(char_ids))
    return {"token_ids": token_ids, "char_ids": char_ids}


def split_long(sentences: Sequence[Sentence], max_tokens: int) -> List[Sentence]:
  """Cuts sentences longer than `max_tokens` into consecutive pieces (for training)."""
  out = []
  for s in sentences:
    for i in range(0, len(s.tokens), max_tokens):
      out.append(Sentence(s.tokens[i:i + max_tokens], s.tags[i:i + max_tokens], s.line))
  return out


def subset(sentences: Sequence[Sentence], fraction: float, seed: int) -> List[Sentence]:
  """A deterministic random `fraction` of the sentences, in their original order.

  Subsets are nested: for one seed, the 10% subset lies inside the 25% one.
  """
  if fraction >= 1.0:
    return list(sentences)
  order = np.random.RandomState(seed).permutation(len(sentences))
  keep = np.sort(order[:max(1, int(round(fraction * len(sentences))))])
  return [sentences[i] for i in keep]


def _ragged_strings(lists: Sequence[Sequence[str]]) -> tf.RaggedTensor:
  flat = [t for x in lists for t in x]
  return tf.RaggedTensor.from_row_lengths(
      tf.constant(flat, dtype=tf.string), tf.constant([len(x) for x in lists], dtype=tf.int64))


def bucket_batch_sizes(batch_tokens: int) -> List[int]:
  """Sentences per batch for each length bucket, so padded tokens stay within the budget."""
  bounds = list(BUCKET_BOUNDARIES) + [BUCKET_BOUNDARIES[-1] * 2]
  return [max(1, batch_tokens // (b - 1 if i < len(BUCKET_BOUNDARIES) else b))
          for i, b in enumerate(bounds)]


class LabeledData:
  """Sentences featurised once (in the graph, cached in memory), batched per epoch.

  Featurising per sentence and caching keeps the string work out of every
  epoch after the first; each epoch only shuffles, buckets and pads ids.
  """

  def __init__(self, sentences: Sequence[Sentence], featurizer: Featurizer,
               tags: vocab_lib.Vocabulary, with_labels: bool = True):
    """
    Args:
      sentences: the sentences, each non-empty.
      featurizer: in-graph lookups.
      tags: the tag vocabulary (no reserved ids). With labels, every tag must be in it.
      with_labels: also produce `tag_ids`.
    """
    if not sentences:
      raise ValueError("no sentences to batch")
    if with_labels:
      unknown = sorted({t for s in sentences for t in s.tags if t not in tags})
      if unknown:
        raise ValueError(f"tags {unknown[:10]} are not in the tag vocabulary {tags.entries}")
    self.num_sentences = len(sentences)
    data = {"tokens": _ragged_strings([s.tokens for s in sentences]),
            "index": tf.range(len(sentences), dtype=tf.int32)}
    if with_labels:
      data["tag_ids"] = tf.RaggedTensor.from_row_lengths(
          tf.constant([tags.id(t) for s in sentences for t in s.tags], dtype=tf.int32),
          tf.constant([len(s.tags) for s in sentences], dtype=tf.int64))

    def featurize(x):
      x = {k: v.to_tensor() if isinstance(v, tf.RaggedTensor) else v for k, v in x.items()}
      tokens = x.pop("tokens")
      x.update({k: v[0] for k, v in featurizer(tokens[None]).items()})
      x["lengths"] = tf.size(tokens, out_type=tf.int32)
      return x

    self._base = tf.data.Dataset.from_tensor_slices(data).map(featurize).cache()

  def sentences(self) -> tf.data.Dataset:
    """The cached per-sentence features, unbatched, in input order."""
    return self._base

  def batches(self, batch_tokens: int, shuffle: bool, seed: int = 0,
              autotune: bool = False) -> tf.data.Dataset:
    """Batches bucketed by length under a token budget.

    Args:
      batch_tokens: at most this many (padded) token positions per batch, except
        that a sentence longer than the budget makes a batch of its own.
      shuffle: shuffle sentences (training). The order depends only on `seed`,
        so an epoch can be replayed exactly: pass e.g. seed = base_seed + epoch.
      seed: the shuffle seed.
      autotune: let tf.data's autotuner run (off by default: see below).
    Returns:
      A dataset of dicts with the features in this module's docstring, except `tokens`.
    """
    ds = self._base
    if shuffle:
      ds = ds.shuffle(self.num_sentences, seed=seed, reshuffle_each_iteration=False)
    spec = ds.element_spec
    ds = ds.bucket_by_sequence_length(
        lambda x: x["lengths"], bucket_boundaries=list(BUCKET_BOUNDARIES),
        bucket_batch_sizes=bucket_batch_sizes(batch_tokens),
        padded_shapes={k: v.shape for k, v in spec.items()},
        padding_values={k: tf.constant(0, v.dtype) for k, v in spec.items()})
    if shuffle:
      # Buckets emit batches of similar lengths together; mix them up.
      ds = ds.shuffle(256, seed=seed + 1, reshuffle_each_iteration=False)
    opts = tf.data.Options()
    opts.deterministic = True
    # tf.data's autotuner, competing with the model for 2 cores, made whole epochs
    # run at half speed at random (measured: 20.7 s vs 11.6 s per NCBI epoch).
    opts.autotune.enabled = autotune
    return ds.with_options(opts).prefetch(4)

