"""A smaller export: the word embedding table, most of a tagger's weights, cut to its first
rows and/or stored in float16.

A tagger's vocabulary is its train words (most frequent first) followed by the BiLM's words
its train data lacks (the BiLM's frequency order), so its first `max_words` rows are every
train word and the BiLM's most frequent others; a word past them is read as unknown. With
`float16`, the table is stored in half precision and rows are cast to float32 as they are
looked up (relative rounding 2**-11; the LSTMs, CharCNN and CRF stay float32).
"""
import os

import numpy as np
import tensorflow as tf

from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.models.tagger import Tagger

EMBEDDING_DTYPES = ("float32", "float16")


class StoredEmbedding(tf.keras.layers.Layer):
  """Looks up float32 rows [B, T, dim] from token ids [B, T] in a table stored as `dtype`."""

  def __init__(self, table: np.ndarray, dtype: str, **kwargs):
    super().__init__(name="word_embedding", **kwargs)
    self.table = tf.Variable(table.astype(dtype), trainable=False, name="embeddings")

  def call(self, token_ids):
    return tf.cast(tf.nn.embedding_lookup(self.table, token_ids), tf.float32)


def compact(tagger: Tagger, words: vocab_lib.Vocabulary, max_words: int, dtype: str,
            vocab_dir: str) -> int:
  """Swaps `tagger`'s word embedding for a StoredEmbedding of its first `max_words` rows (0:
  all) in `dtype`, and writes the matching words.txt into `vocab_dir`. Returns the rows kept.
  """
  table = tagger.encoder.word_embedding.embeddings.numpy()
  rows = min(max_words or len(words), len(words))
  vocab_lib.Vocabulary(words.entries[:rows], words.reserved).save(
      os.path.join(vocab_dir, "words.txt"))
  tagger.encoder.word_embedding = StoredEmbedding(table[:rows], dtype)
  return rows
