"""The encoder the BiLM and the tagger share: word embedding + CharCNN + two LSTMs.

The forward LSTM reads left to right; the backward LSTM reads each sentence
right to left (`tf.reverse_sequence` over its true length, so right padding
stays at the end in both directions and never reaches a real position). The
BiLM trains the forward states to predict the next word and the backward
states to predict the previous word; the tagger concatenates them. Attribute
names are checkpoint keys: renaming one is a checkpoint format change.
"""
from typing import Dict

import tensorflow as tf

from tf_bilm_ner.config import EncoderConfig
from tf_bilm_ner.data.vocab import UNK_ID
from tf_bilm_ner.layers import fused as fused_lib
from tf_bilm_ner.layers import hoisted as hoisted_lib
from tf_bilm_ner.layers.char_cnn import CharCNN


def bidirectional(forward_lstm: tf.keras.layers.Layer, backward_lstm: tf.keras.layers.Layer,
                  x: tf.Tensor, lengths: tf.Tensor, fused: bool = False, hoisted: bool = False):
  """x [B, T, D], lengths [B] -> (forward [B, T, U], backward [B, T, U]).

  The backward LSTM reads each sequence reversed over its true length, so right padding
  stays at the end in both directions and never reaches a real position. `fused`
  (inference only, the SavedModel export): both directions in one loop (`fused.py`), the
  same result within float32 rounding, where the LSTMs allow it. `hoisted` (training
  speed): each LSTM through `hoisted.lstm_states`, the same states and gradients within
  float32 rounding, where the LSTMs allow it.
  """
  if fused and fused_lib.supports(forward_lstm) and fused_lib.supports(backward_lstm):
    return fused_lib.bilstm(forward_lstm, backward_lstm, x, lengths)
  run = lambda lstm, inputs: lstm(inputs)
  if hoisted and hoisted_lib.supports(forward_lstm) and hoisted_lib.supports(backward_lstm):
    run = hoisted_lib.lstm_states
  forward = run(forward_lstm, x)
  rev = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
  backward = tf.reverse_sequence(run(backward_lstm, rev), lengths, seq_axis=1, batch_axis=0)
  return forward, backward


class Encoder(tf.keras.layers.Layer):
  """features -> (forward states, backward states).

  `dtype` (a Keras dtype policy such as "mixed_bfloat16", see `precision.py`) sets the
  precision of every sublayer; variables stay float32, so checkpoints do not depend on it.
  """

  def __init__(self, config: EncoderConfig, **kwargs):
    super().__init__(**kwargs)
    config.validate()
    if config.word_vocab_size <= 2 or config.char_vocab_size <= 2:
      raise ValueError("EncoderConfig vocabulary sizes must be set from the vocabularies")
    self.config = config
    dtype = self.dtype_policy  # sublayers compute in the encoder's precision
    self.word_embedding = tf.keras.layers.Embedding(
        config.word_vocab_size, config.word_dim, name="word_embedding", dtype=dtype)
    self.char_cnn = CharCNN(config.char_vocab_size, config.char_dim, config.char_filters,
                            config.char_kernel_size, name="char_cnn", dtype=dtype)
    self.input_dropout = tf.keras.layers.Dropout(config.dropout, name="input_dropout",
                                                 dtype=dtype)
    self.forward_lstm = tf.keras.layers.LSTM(
        config.lstm_units, return_sequences=True, name="forward_lstm", dtype=dtype)
    self.backward_lstm = tf.keras.layers.LSTM(
        config.lstm_units, return_sequences=True, name="backward_lstm", dtype=dtype)
    # Training speed only (`BiLMTrainConfig.unique_chars`), not part of the model: in
    # training, the CharCNN runs once per distinct token of a batch (`CharCNN.call`).
    self.unique_chars = False
    # Training speed only (`BiLMTrainConfig.hoisted_lstm`): in training, both LSTMs run as
    # `hoisted.lstm_states` (input projections out of the loop, hand-written gradient).
    self.hoisted_lstm = False

  def embed(self, features: Dict[str, tf.Tensor], training=None, fused=False) -> tf.Tensor:
    """token_ids [B, T], char_ids [B, T, C] -> [B, T, word_dim + char_filters].

    In training, each real word id becomes <unk> with probability
    `word_dropout`, so the <unk> row is trained and rare words cannot be
    memorised by their embedding alone; the CharCNN still sees the token. `fused`
    (inference only): the CharCNN's convolution as serving runs it. An optional
    `char_width` feature (scalar int32) is the character columns before serving padded
    char_ids to a compiled shape (`CharCNN.call`'s `width`).
    """
    token_ids = features["token_ids"]
    if training and self.config.word_dropout > 0:
      drop = tf.random.uniform(tf.shape(token_ids)) < self.config.word_dropout
      token_ids = tf.where(drop & (token_ids > UNK_ID), tf.fill(tf.shape(token_ids), UNK_ID),
                           token_ids)
    x = tf.concat([self.word_embedding(token_ids),
                   self.char_cnn(features["char_ids"], fused=fused and not training,
                                 width=features.get("char_width"),
                                 unique=bool(training) and self.unique_chars)],
                  axis=-1)
    return self.input_dropout(x, training=training)

  def call(self, features: Dict[str, tf.Tensor], training=None, fused=False):
    """Returns (forward, backward), each [B, T, lstm_units] in the compute dtype.
    `fused`: serving's one-loop BiLSTM (`bidirectional`); never with training.

    forward[b, t] has read tokens 0..t; backward[b, t] has read tokens t..len-1.
    Positions at or beyond `lengths[b]` hold values of no meaning.
    """
    x = self.embed(features, training=training, fused=fused)
    return bidirectional(self.forward_lstm, self.backward_lstm, x, features["lengths"],
                         fused=fused and not training,
                         hoisted=bool(training) and self.hoisted_lstm)

  def get_config(self):
    return dict(super().get_config(), config=self.config.to_dict())

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    return cls(EncoderConfig.from_dict(config.pop("config")), **config)
