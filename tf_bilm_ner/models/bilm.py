"""The bidirectional language model: the tagger's Encoder plus a softmax over words.

The forward LSTM state at t predicts token t+1 (`</s>` after the last token);
the backward state at t predicts token t-1 (`<s>` before the first). Both
directions share one softmax (weights [vocab, lstm_units] and biases), as in
allenai/bilm-tf: half the parameters of two heads, and the two directions
learn states in one output space. The heads are dropped at transfer; only
`encoder` (same class, same attribute name as in the tagger) moves.

Training uses a sampled softmax with log-uniform (Zipfian) negatives, whose
cost does not grow with the vocabulary; word ids are frequency-ordered
(`lm_vocab`), as that sampler assumes. Evaluation uses the full softmax.
"""
from typing import Dict

import tensorflow as tf

from tf_bilm_ner.config import BiLMConfig
from tf_bilm_ner.layers.encoder import Encoder
from tf_bilm_ner.layers.sampled_softmax import sampled_softmax_loss


class BiLM(tf.keras.Model):
  """features -> per-direction losses.

  `dtype`: a Keras dtype policy for the encoder and the softmax matmuls (`precision.py`);
  the softmax weights, the cross-entropy and the perplexity stay float32.
  """

  def __init__(self, config: BiLMConfig, **kwargs):
    super().__init__(**kwargs)
    config.validate()
    self.config = config
    e = config.encoder
    self.encoder = Encoder(e, name="encoder", dtype=self.dtype_policy)
    self.output_dropout = tf.keras.layers.Dropout(e.dropout, name="output_dropout",
                                                  dtype=self.dtype_policy)
    self.softmax_weights = self.add_weight(
        name="softmax_weights", shape=[e.word_vocab_size, e.lstm_units],
        initializer=tf.keras.initializers.RandomNormal(stddev=e.lstm_units ** -0.5),
        dtype=tf.float32)
    self.softmax_biases = self.add_weight(
        name="softmax_biases", shape=[e.word_vocab_size], initializer="zeros", dtype=tf.float32)
    # Benchmarks only (`tools/benchmark_bilm.py`, setting option `tf_softmax`): the sampled
    # loss through `tf.nn.sampled_softmax_loss`, the path of pretraining before issue #16.
    self.reference_softmax = False

  def call(self, features: Dict[str, tf.Tensor], training=None):
    """-> (forward, backward) states, each [B, T, lstm_units] (compute dtype), after dropout."""
    forward, backward = self.encoder(features, training=training)
    return (self.output_dropout(forward, training=training),
            self.output_dropout(backward, training=training))

  def _real(self, features):
    t = tf.shape(features["token_ids"])[1]
    return tf.sequence_mask(features["lengths"], t)

  def sampled_loss(self, features: Dict[str, tf.Tensor], training=True) -> Dict[str, tf.Tensor]:
    """Mean sampled-softmax NLL per real token, per direction: {"forward", "backward"} scalars."""
    states = self(features, training=training)
    mask = self._real(features)
    out = {}
    for name, h in zip(("forward", "backward"), states):
      inputs = tf.boolean_mask(h, mask)                                     # [N, U]
      labels = tf.boolean_mask(features[f"{name}_targets"], mask)           # [N]
      loss_fn = sampled_softmax_loss
      if self.reference_softmax:
        loss_fn = lambda w, b, y, x, **kw: tf.nn.sampled_softmax_loss(
            w, b, tf.cast(y, tf.int64)[:, None], x, **kw)
      loss = loss_fn(
          self.softmax_weights, self.softmax_biases, labels, inputs,
          num_sampled=min(self.config.num_sampled, self.config.encoder.word_vocab_size - 1),
          num_classes=self.config.encoder.word_vocab_size)
      out[name] = tf.reduce_mean(loss)
    return out

  def full_nll(self, features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """Summed full-softmax NLL over real tokens per direction, and the token count.

    Perplexity = exp(sum of nll / tokens) over a whole evaluation set.
    """
    states = self(features, training=False)
    mask = self._real(features)
    out = {"tokens": tf.reduce_sum(tf.cast(mask, tf.float32))}
    for name, h in zip(("forward", "backward"), states):
      h = tf.cast(tf.boolean_mask(h, mask), tf.float32)
      logits = tf.matmul(h, self.softmax_weights, transpose_b=True)
      logits += self.softmax_biases
      labels = tf.boolean_mask(features[f"{name}_targets"], mask)
      out[name] = tf.reduce_sum(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return out

  def get_config(self):
    return {"name": self.name, "dtype": self.dtype_policy.name, "config": self.config.to_dict()}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    return cls(BiLMConfig.from_dict(config.pop("config")), **config)
