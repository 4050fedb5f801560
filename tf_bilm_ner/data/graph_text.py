"""`tokenizer.py`'s tokenizer and sentence splitter, and IOB span decoding, in TensorFlow ops.

So that a SavedModel takes raw text. Everything works on the flat list of all
tokens of a batch of documents (`row` says which document), with offsets in
Unicode code points (Python `str` indices). Tested against `tokenizer.py`.
Input that is not valid UTF-8 is first transcoded with U+FFFD replacements.
"""
from typing import Dict

import tensorflow as tf

from tf_bilm_ner.data import tokenizer

_WORD = r"[\pL\pN]"
_SPACE = r"[\t-\r\x{1c}-\x{20}\x{85}\pZ]"  # Python's str.isspace()
_ENDERS = r"[.!?]"
_STARTS = r"[\p{Lu}\p{Nd}([{\"'].*"
_HAS_UPPER_OR_DIGIT = r".*[\p{Lu}\p{Nd}].*"
_BLANK_LINE = r"(?s).*\n[ \t\r\f\v]*\n.*"


def _alternatives(words) -> str:
  return "|".join(sorted(words))


def shift(x: tf.Tensor, k: int, fill) -> tf.Tensor:
  """x[i - k] (k > 0: previous) or x[i + |k|] (k < 0: next), `fill` outside."""
  pad = tf.fill([abs(k)], tf.constant(fill, x.dtype))
  if k > 0:
    return tf.concat([pad, x], 0)[:tf.size(x)]
  return tf.concat([x, pad], 0)[-k:]


def count_per_row(flag: tf.Tensor, row: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
  """[rows] int32: how many entries with `flag` each row has."""
  return tf.math.unsorted_segment_sum(tf.cast(flag, tf.int32), row, rows)


def tokenize(text: tf.Tensor) -> Dict[str, tf.Tensor]:
  """text [B] string -> flat tokens: text, start, end (int32 code points), row (int32 doc)."""
  text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
  cps = tf.strings.unicode_decode(text, "UTF-8")                       # ragged [B, chars]
  chars = tf.strings.unicode_encode(tf.expand_dims(cps.flat_values, 1), "UTF-8")  # [N]
  row = tf.cast(cps.value_rowids(), tf.int32)
  pos = tf.range(tf.size(row)) - tf.gather(tf.cast(cps.row_starts(), tf.int32), row)
  space = tf.strings.regex_full_match(chars, _SPACE)
  word = tf.strings.regex_full_match(chars, _WORD)
  prev_word = shift(word, 1, False) & (pos > 0)
  starts = ~space & (~word | ~prev_word)
  token = tf.cumsum(tf.cast(starts, tf.int32)) - 1                      # [N]
  keep = tf.where(~space)[:, 0]
  seg = tf.gather(token, keep)
  n = tf.reduce_sum(tf.cast(starts, tf.int32))
  first = tf.where(starts)[:, 0]
  return {"text": tf.strings.unsorted_segment_join(tf.gather(chars, keep), seg, n),
          "start": tf.gather(pos, first),
          "end": tf.math.unsorted_segment_max(tf.gather(pos, keep), seg, n) + 1,
          "row": tf.gather(row, first),
          "doc": text}


def _last_index_in_block(flag: tf.Tensor, block_start: tf.Tensor) -> tf.Tensor:
  """For each token, the index of the last token <= it with `flag`, or -1 if none in its block."""
  positions = tf.cast(tf.where(flag)[:, 0], tf.int32)
  count = tf.cumsum(tf.cast(flag, tf.int32))
  last = tf.gather(tf.concat([[-1], positions], 0), count)
  return tf.where(last >= block_start, last, -1)


def sentence_ids(tokens: Dict[str, tf.Tensor], max_tokens: int) -> tf.Tensor:
  """Flat tokens -> sentence id per token [N] int32 (0, 1, ...; sentences never span documents).

  Sentences longer than `max_tokens` are cut into pieces of `max_tokens`.
  """
  t, st, en, row = tokens["text"], tokens["start"], tokens["end"], tokens["row"]
  n = tf.size(t)
  idx = tf.range(n)
  next_row = shift(row, -1, -1)
  next_start = shift(st, -1, 0)
  gap = tf.strings.substr(tf.gather(tokens["doc"], row), en,
                          tf.maximum(next_start - en, 0), unit="UTF8_CHAR")
  # A blank line between token i and i + 1 ends a block, as a new document does.
  hard_after = (next_row != row) | tf.strings.regex_full_match(gap, _BLANK_LINE)
  block_first = shift(hard_after, 1, True)
  block_start = _last_index_in_block(block_first, tf.zeros_like(idx))
  has_next = ~hard_after
  has_prev = ~block_first
  nxt, prev, prev2 = shift(t, -1, ""), shift(t, 1, ""), shift(t, 2, "")
  prev_end, prev_start, prev2_end = shift(en, 1, -1), shift(st, 1, -1), shift(en, 2, -1)
  has_prev2 = has_prev & (idx - 2 >= block_start)
  prev_len = tf.strings.length(prev, unit="UTF8_CHAR")

  last_open = _last_index_in_block(tf.strings.regex_full_match(t, r"[(\[{]"), block_start)
  last_close = _last_index_in_block(tf.strings.regex_full_match(t, r"[)\]}]"), block_start)
  inside = (last_open > last_close) & (idx - last_open <= tokenizer.MAX_BRACKET_TOKENS)

  candidate = (tf.strings.regex_full_match(t, _ENDERS) & has_next & (next_start > en)
               & (next_row == row))
  lower_start = (tf.strings.regex_full_match(nxt, _HAS_UPPER_OR_DIGIT)
                 | tf.strings.regex_full_match(nxt, _alternatives(tokenizer.LOWER_STARTS)))
  next_ok = (tf.strings.regex_full_match(nxt, _STARTS)
             | (lower_start & has_prev & (prev_len > 1)))
  adjacent = has_prev & (prev_end == st)
  abbreviation = tf.strings.regex_full_match(tf.strings.lower(prev, encoding="utf-8"),
                                             _alternatives(tokenizer.ABBREVIATIONS))
  dotted = (prev_len == 1) & has_prev2 & tf.equal(prev2, ".") & (prev2_end == prev_start)
  single_lower = (prev_len == 1) & tf.strings.regex_full_match(prev, r"\p{Ll}")
  period_ok = has_prev & ~(adjacent & (abbreviation | dotted | single_lower))
  ends = candidate & next_ok & ~inside & (tf.not_equal(t, ".") | period_ok)
  sentence_first = block_first | shift(ends, 1, False)
  first_index = _last_index_in_block(sentence_first, tf.zeros_like(idx))
  piece_first = sentence_first | ((idx - first_index) % max_tokens == 0)
  return tf.cumsum(tf.cast(piece_first, tf.int32)) - 1


def spans(tags: tf.Tensor, confidence: tf.Tensor, sentence: tf.Tensor,
          tokens: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  """IOB tags of the flat tokens -> flat entities (conlleval's chunks, as metrics.chunks).

  Args:
    tags: [N] string, one per token. confidence: [N] float32, the tag's marginal.
    sentence: [N] int32 sentence id. tokens: from `tokenize`.
  Returns:
    start, end (code points), type, text, score (the lowest tag marginal over the
    entity's tokens), row (document) for each entity, in text order.
  """
  typ = tf.strings.regex_replace(tags, r"^[BI]-", "")
  inside = tf.strings.regex_full_match(tags, r"[BI]-.+")
  prev_inside = shift(inside, 1, False) & tf.equal(shift(sentence, 1, -1), sentence)
  begins = inside & (tf.strings.regex_full_match(tags, r"B-.*") | ~prev_inside
                     | tf.not_equal(shift(typ, 1, ""), typ))
  entity = tf.cumsum(tf.cast(begins, tf.int32)) - 1
  keep = tf.where(inside)[:, 0]
  seg = tf.gather(entity, keep)
  n = tf.reduce_sum(tf.cast(begins, tf.int32))
  first = tf.where(begins)[:, 0]
  start = tf.gather(tokens["start"], first)
  end = tf.math.unsorted_segment_max(tf.gather(tokens["end"], keep), seg, n)
  row = tf.gather(tokens["row"], first)
  return {"start": start, "end": end, "type": tf.gather(typ, first),
          "text": tf.strings.substr(tf.gather(tokens["doc"], row), start, end - start,
                                    unit="UTF8_CHAR"),
          "score": tf.math.unsorted_segment_min(tf.gather(confidence, keep), seg, n),
          "row": row}
