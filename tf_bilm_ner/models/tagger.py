"""The NER tagger: Encoder (shared with the BiLM) -> dropout -> tag scores -> CRF.

Options (TaggerConfig): `bilm_features` adds a frozen copy of the pretrained BiLM's encoder
(`bilm_encoder`, never trained: TagLM / ELMo-style features) whose forward and backward states
are concatenated to the trained encoder's; `top_lstm_units` adds a BiLSTM (`top_forward_lstm`,
`top_backward_lstm`) over that concatenation before the projection.
"""
import dataclasses
from typing import Dict

import tensorflow as tf

from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.layers.crf import CRF
from tf_bilm_ner.layers.encoder import Encoder, bidirectional


class Tagger(tf.keras.Model):
  """features -> CRF potentials; `nll` (the training loss) and `decode` (prediction)."""

  def __init__(self, config: TaggerConfig, **kwargs):
    super().__init__(**kwargs)
    config.validate()
    if config.num_tags < 1:
      raise ValueError("TaggerConfig.num_tags must be set from the tag vocabulary")
    self.config = config
    dtype = self.dtype_policy  # `precision.py`; the CRF always runs in float32
    self.encoder = Encoder(config.encoder, name="encoder", dtype=dtype)
    self.output_dropout = tf.keras.layers.Dropout(config.encoder.dropout, name="output_dropout",
                                                  dtype=dtype)
    if config.bilm_features:
      frozen = dataclasses.replace(config.encoder, dropout=0.0, word_dropout=0.0)
      self.bilm_encoder = Encoder(frozen, name="bilm_encoder", dtype=dtype, trainable=False)
    if config.top_lstm_units:
      self.top_forward_lstm, self.top_backward_lstm = (
          tf.keras.layers.LSTM(config.top_lstm_units, return_sequences=True, name=name,
                               dtype=dtype) for name in ("top_forward_lstm", "top_backward_lstm"))
      self.top_dropout = tf.keras.layers.Dropout(config.encoder.dropout, name="top_dropout",
                                                 dtype=dtype)
    self.projection = tf.keras.layers.Dense(config.num_tags, name="projection", dtype=dtype)
    # Training speed only (`TrainConfig.hoisted_lstm`, set by `use_hoisted_lstm`), not part of
    # the model: in training, the top BiLSTM runs as `layers/hoisted.py` runs it.
    self.hoisted_lstm = False
    self.crf = CRF(config.num_tags, name="crf", dtype=tf.float32)

  def call(self, features: Dict[str, tf.Tensor], training=None, fused=False) -> tf.Tensor:
    """token_ids [B, T], char_ids [B, T, C], lengths [B] -> potentials [B, T, num_tags] float32.
    `fused`: the BiLSTMs as serving runs them (`layers/fused.py`); inference only."""
    fused = fused and not training
    states = list(self.encoder(features, training=training, fused=fused))     # 2 x [B, T, U]
    if self.config.bilm_features:  # frozen: no dropout inside, no gradient
      states += [tf.stop_gradient(h)
                 for h in self.bilm_encoder(features, training=False, fused=fused)]
    x = self.output_dropout(tf.concat(states, axis=-1), training=training)
    if self.config.top_lstm_units:
      x = tf.concat(bidirectional(self.top_forward_lstm, self.top_backward_lstm, x,
                                  features["lengths"], fused,
                                  hoisted=bool(training) and self.hoisted_lstm),
                    axis=-1)  # [B, T, 2 * top]
      x = self.top_dropout(x, training=training)
    potentials = tf.cast(self.projection(x), tf.float32)
    if not self.crf.built:
      self.crf.build(potentials.shape)
    return potentials

  def nll(self, features: Dict[str, tf.Tensor], training=True) -> tf.Tensor:
    """Negative log-likelihood summed over the batch, divided by its real tokens. Scalar."""
    potentials = self(features, training=training)
    ll = self.crf.log_likelihood(potentials, features["tag_ids"], features["lengths"])
    return -tf.reduce_sum(ll) / tf.cast(tf.reduce_sum(features["lengths"]), tf.float32)

  def decode(self, features: Dict[str, tf.Tensor]):
    """-> (tag_ids [B, T] int32, best sequence score [B] float32)."""
    potentials = self(features, training=False)
    return self.crf(potentials, features["lengths"])

  def build_from_features(self, features: Dict[str, tf.Tensor]) -> None:
    """Creates all variables by running one batch."""
    self.decode(features)

  def use_hoisted_lstm(self, on: bool = True) -> None:
    """Training speed (`TrainConfig.hoisted_lstm`): the encoder's LSTMs and the top BiLSTM
    train as `layers/hoisted.py` runs them, the same states and gradients within float32
    rounding (inference, serving and the frozen `bilm_encoder` are unchanged). Call it once
    the variables exist (`build_from_features`)."""
    if on and not self.encoder.forward_lstm.built:
      raise ValueError("use_hoisted_lstm needs the tagger's variables (build_from_features)")
    self.encoder.hoisted_lstm = self.hoisted_lstm = on

  def get_config(self):
    return {"name": self.name, "dtype": self.dtype_policy.name, "config": self.config.to_dict()}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    return cls(TaggerConfig.from_dict(config.pop("config")), **config)
