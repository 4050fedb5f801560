"""Linear-chain CRF. The only module that imports tensorflow_addons.

`tfa.text.crf_decode` is built from core TF ops, so a SavedModel that decodes
with it loads and serves without tensorflow_addons installed.
"""
import warnings

import tensorflow as tf

from tf_bilm_ner.layers import fused

with warnings.catch_warnings():
  # tfa announces its end of life at import; we pin its last release on purpose (WORKSPACE.md).
  warnings.simplefilter("ignore", UserWarning)
  import tensorflow_addons as tfa  # pylint: disable=g-import-not-at-top


class CRF(tf.keras.layers.Layer):
  """Owns the transition matrix; scores, decodes and gives the log-likelihood.

  Inputs must be right-padded: position t of sentence b is real iff
  t < lengths[b].
  """

  def __init__(self, num_tags: int, **kwargs):
    super().__init__(**kwargs)
    if num_tags < 1:
      raise ValueError(f"CRF needs at least one tag, got {num_tags}")
    self.num_tags = num_tags

  def build(self, input_shape):
    # Always pass this weight: tfa creates a fresh, untracked variable when
    # transition_params is None.
    self.transitions = self.add_weight(
        name="transitions", shape=[self.num_tags, self.num_tags],
        initializer=tf.keras.initializers.GlorotUniform(), trainable=True)
    super().build(input_shape)

  def call(self, potentials: tf.Tensor, lengths: tf.Tensor):
    """Viterbi decode.

    Args:
      potentials: [batch, time, num_tags] float32 unary scores.
      lengths: [batch] int32.
    Returns:
      (tag_ids [batch, time] int32, best_score [batch] float32).
    """
    return tfa.text.crf_decode(potentials, self.transitions, lengths)

  def log_likelihood(self, potentials: tf.Tensor, tag_ids: tf.Tensor,
                     lengths: tf.Tensor) -> tf.Tensor:
    """potentials [B, T, K], tag_ids [B, T] int32, lengths [B] -> log p(tags) [B]."""
    if not self.built:
      self.build(potentials.shape)
    ll, _ = tfa.text.crf_log_likelihood(potentials, tag_ids, lengths, self.transitions)
    return ll

  def log_norm(self, potentials: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
    """log Z [B]: log-sum-exp of all tag sequences' scores."""
    return tfa.text.crf_log_norm(potentials, lengths, self.transitions)

  def decode_with_marginals(self, potentials: tf.Tensor, lengths: tf.Tensor):
    """Serving: Viterbi and marginals in one loop (`fused.crf`; core TF ops only).
    potentials [B, T, K] (T >= 1), lengths [B] -> tag_ids [B, T] int32 (0 past the length),
    best_score [B], marginals [B, T, K], log_z [B]."""
    return fused.crf(potentials, self.transitions, lengths)

  def get_config(self):
    return dict(super().get_config(), num_tags=self.num_tags)
