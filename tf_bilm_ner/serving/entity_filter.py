"""The serving graph's minimum entity score (`ExportConfig.min_entity_score`): the predicted
entities whose lowest tag marginal is under it become O, as `entity_threshold.keep_confident`
does in Python (tests/test_entity_filter.py compares the two). Entities are conlleval's
chunks: B-X begins one, and so does I-X after O or after another type."""
from typing import Sequence

import tensorflow as tf

from tf_bilm_ner.config import ConfigError


class EntityFilter:
  """Drops the entities under `min_score` from a batch of tag paths."""

  def __init__(self, tag_names: Sequence[str], min_score: float):
    """tag_names: the IOB2 name of each tag id (an IOBES tagger's, mapped)."""
    if "O" not in tag_names:
      raise ConfigError(f"a minimum entity score needs an O tag; the tags are {list(tag_names)}")
    types = sorted({name[2:] for name in tag_names if name != "O"})
    self.type_of = [types.index(name[2:]) if name != "O" else -1 for name in tag_names]
    self.begins = [name.startswith("B-") for name in tag_names]
    self.outside = list(tag_names).index("O")
    self.min_score = float(min_score)

  def __call__(self, tag_ids: tf.Tensor, confidence: tf.Tensor, marginals: tf.Tensor,
               real: tf.Tensor):
    """tag_ids [B, T] int32, confidence [B, T] (each tag's marginal), marginals [B, T, K],
    real [B, T] bool -> (tag_ids, confidence): the dropped entities' positions get the O tag
    and O's marginal."""
    kind = tf.where(real, tf.gather(tf.constant(self.type_of), tag_ids), -1)  # -1: O, padding
    previous = tf.pad(kind[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    begins = (kind >= 0) & (tf.gather(tf.constant(self.begins), tag_ids) | (kind != previous))
    starts = tf.reshape(tf.cast(begins, tf.int32), [-1])
    entity = tf.cumsum(starts) - 1                       # [B*T], row after row: one id each
    inside = tf.reshape(kind >= 0, [-1])
    count = tf.reduce_sum(starts)
    lowest = tf.math.unsorted_segment_min(  # positions outside entities go to segment `count`
        tf.reshape(confidence, [-1]), tf.where(inside, entity, count), count + 1)
    drop = tf.reshape(inside & (tf.gather(lowest, tf.maximum(entity, 0)) < self.min_score),
                      tf.shape(tag_ids))
    return (tf.where(drop, self.outside, tag_ids),
            tf.where(drop, marginals[:, :, self.outside], confidence))
