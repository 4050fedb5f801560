"""Character CNN: per-token features from the token's characters."""
from typing import Optional

import tensorflow as tf

from tf_bilm_ner.layers import fused as fused_lib


FUSED_CONV_MAX_CHARS = 4096  # character positions up to which serving uses `fused.char_conv`


class CharCNN(tf.keras.layers.Layer):
  """Character embedding -> Conv1D -> tanh -> max-pool over the token's characters.

  Padding characters (id 0) are excluded from the max; a token with no
  characters (a padding token) gets all-zero features.
  """

  def __init__(self, char_vocab_size: int, char_dim: int, filters: int, kernel_size: int,
               **kwargs):
    super().__init__(**kwargs)
    if min(char_vocab_size, char_dim, filters, kernel_size) <= 0:
      raise ValueError("CharCNN sizes must all be positive")
    self.char_vocab_size, self.char_dim = char_vocab_size, char_dim
    self.filters, self.kernel_size = filters, kernel_size
    self.embedding = tf.keras.layers.Embedding(char_vocab_size, char_dim, name="char_embedding",
                                               dtype=self.dtype_policy)
    self.conv = tf.keras.layers.Conv1D(filters, kernel_size, padding="same", name="char_conv",
                                       dtype=self.dtype_policy)

  def call(self, char_ids: tf.Tensor, fused: bool = False,
           width: Optional[tf.Tensor] = None, unique: bool = False) -> tf.Tensor:
    """char_ids: [batch, time, chars] int32 -> [batch, time, filters] (compute dtype).
    `fused` (serving): the convolution as one matmul (`fused.char_conv`) for requests of at
    most FUSED_CONV_MAX_CHARS character positions, same result. `width` (scalar int32):
    the character columns before padding to a fixed shape (serving's XLA path); the
    convolution reads zeros from there on, as past the last column of an unpadded batch,
    so the result is that of the unpadded char_ids. `unique` (training speed): the
    convolution runs once per distinct character row of the batch and its features are
    gathered back to every position: the same values (a batch repeats many of its tokens),
    gradients summed over a token's positions in another order (float32 rounding)."""
    # At least one character column: a batch of empty tokens has none, and a
    # convolution over zero positions gives no usable output.
    char_ids = tf.pad(char_ids, [[0, 0], [0, 0], [0, tf.maximum(0, 1 - tf.shape(char_ids)[2])]])
    shape = tf.shape(char_ids)
    flat = tf.reshape(char_ids, [-1, shape[2]])                  # [batch*time, chars]
    if unique:
      rows, index = tf.raw_ops.UniqueV2(x=flat, axis=[0])       # [R, chars], [batch*time]
      pooled = tf.gather(self._pooled(rows, fused, width), index)
    else:
      pooled = self._pooled(flat, fused, width)
    return tf.reshape(pooled, [shape[0], shape[1], self.filters])

  def _pooled(self, flat: tf.Tensor, fused: bool, width: Optional[tf.Tensor]) -> tf.Tensor:
    """flat char_ids [N, chars] -> max-pooled features [N, filters] (`call`'s arguments)."""
    x = self.embedding(flat)                                     # [N, chars, dim]
    if width is not None:
      x = tf.where((tf.range(tf.shape(flat)[1]) < width)[None, :, None], x, tf.zeros_like(x))
    if fused and fused_lib.supports_conv(self.conv):
      # The matmul wins for small requests (no per-shape setup), the convolution kernel for
      # large ones (batches of 32 sentences: tools/profile_serving.py, results/README.md).
      x = tf.tanh(tf.cond(tf.size(flat) <= FUSED_CONV_MAX_CHARS,
                          lambda: fused_lib.char_conv(self.conv, x), lambda: self.conv(x)))
    else:
      x = tf.tanh(self.conv(x))
    valid = tf.not_equal(flat, 0)[:, :, None]
    # tanh lies in (-1, 1), so -2 never wins the max over a real character.
    pooled = tf.reduce_max(tf.where(valid, x, -2.0), axis=1)     # [N, filters]
    return tf.where(tf.reduce_any(valid, axis=1), pooled, 0.0)

  def get_config(self):
    return dict(super().get_config(), char_vocab_size=self.char_vocab_size,
                char_dim=self.char_dim, filters=self.filters, kernel_size=self.kernel_size)
