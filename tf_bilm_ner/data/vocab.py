"""Word, character and tag vocabularies, and their in-graph lookup.

Word ids: tokens are lowercased (full Unicode, via `tf.strings.lower`) and
every ASCII digit is replaced by `0` before lookup, so "IL-2" and "il-6" share
the shape "il-0". Case and digits stay visible to the CharCNN, which sees the
raw token. The same TF function normalises at vocabulary-build time and in the
graph, so the two can never disagree.

Reserved ids: words and characters use 0 = `<pad>`, 1 = `<unk>`. Tags have no
reserved ids; `O` is id 0.

On disk a vocabulary is a UTF-8 text file, one entry per line, line i = id i:
the form `tf.lookup.TextFileInitializer` and TF Serving assets read.
"""
import collections
from typing import Dict, Iterable, List, Sequence

import tensorflow as tf

from tf_bilm_ner import files
from tf_bilm_ner.errors import UserError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


class VocabularyError(UserError):
  """A vocabulary file that cannot be used."""


def normalize_words(tokens: tf.Tensor) -> tf.Tensor:
  """Word-id normalisation: Unicode lowercase, ASCII digits -> 0. Any shape, tf.string."""
  return tf.strings.regex_replace(tf.strings.lower(tokens, encoding="utf-8"), r"[0-9]", "0")


def normalize_word_list(tokens: Sequence[str]) -> List[str]:
  """`normalize_words` for a Python list, through the same TF op."""
  if not tokens:
    return []
  return [t.decode("utf-8") for t in normalize_words(tf.constant(list(tokens))).numpy()]


class Vocabulary:
  """An ordered list of entries; the position is the id."""

  def __init__(self, entries: Sequence[str], reserved: Sequence[str] = (PAD, UNK)):
    entries = list(entries)
    if list(entries[:len(reserved)]) != list(reserved):
      raise VocabularyError(f"vocabulary must start with the reserved entries {list(reserved)}")
    if len(set(entries)) != len(entries):
      dup = [e for e, c in collections.Counter(entries).items() if c > 1][:5]
      raise VocabularyError(f"vocabulary has duplicate entries, e.g. {dup}")
    for e in entries:
      if "\n" in e or "\r" in e or e == "":
        raise VocabularyError(f"vocabulary entry {e!r} is empty or holds a line break")
    self.entries = entries
    self.reserved = list(reserved)
    self._index: Dict[str, int] = {e: i for i, e in enumerate(entries)}

  def __len__(self) -> int:
    return len(self.entries)

  def __contains__(self, entry: str) -> bool:
    return entry in self._index

  def id(self, entry: str) -> int:
    return self._index.get(entry, UNK_ID if self.reserved else -1)

  @classmethod
  def build(cls, counts: collections.Counter, min_count: int = 1, max_size: int = 0,
            reserved: Sequence[str] = (PAD, UNK)) -> "Vocabulary":
    """Most frequent first, ties broken alphabetically so the build is deterministic."""
    items = sorted(((c, e) for e, c in counts.items() if c >= min_count and e not in reserved),
                   key=lambda ce: (-ce[0], ce[1]))
    if max_size:
      items = items[:max(0, max_size - len(reserved))]
    return cls(list(reserved) + [e for _, e in items], reserved)

  def save(self, path: str) -> None:
    files.write_text_atomic(path, "\n".join(self.entries) + "\n")

  @classmethod
  def load(cls, path: str, reserved: Sequence[str] = (PAD, UNK)) -> "Vocabulary":
    try:
      with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    except FileNotFoundError:
      raise VocabularyError(f"{path}: vocabulary file not found") from None
    except UnicodeDecodeError as e:
      raise VocabularyError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    if not text.endswith("\n"):
      raise VocabularyError(f"{path}: truncated (no final newline)")
    try:
      return cls(text[:-1].split("\n"), reserved)
    except VocabularyError as e:
      raise VocabularyError(f"{path}: {e}") from None

  def codepoint_table(self) -> tf.lookup.StaticHashTable:
    """Unicode code point (int32) -> int32 id of each one-character entry; any other code
    point maps to `<unk>` (or -1 without reserved ids). The characters' `lookup_table` on
    code points: a token's characters are looked up without being encoded back into one
    string each (`labeled.Featurizer`); entries longer than one character (the reserved
    ones) are no single character's id, as in `lookup_table`."""
    default = UNK_ID if self.reserved else -1
    # A table cannot be empty: -1, which no code point is, stands in for no characters.
    pairs = [(ord(e), i) for i, e in enumerate(self.entries) if len(e) == 1] or [(-1, default)]
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant([c for c, _ in pairs], tf.int32, shape=[len(pairs)]),
        tf.constant([i for _, i in pairs], tf.int32, shape=[len(pairs)]))
    return tf.lookup.StaticHashTable(init, default_value=default)

  def lookup_table(self) -> tf.lookup.StaticHashTable:
    """string -> int32 id; unknown strings map to `<unk>` (or -1 without reserved ids)."""
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant(self.entries), tf.range(len(self.entries), dtype=tf.int32))
    return tf.lookup.StaticHashTable(init, default_value=UNK_ID if self.reserved else -1)


def build_vocabularies(sentences_tokens: Iterable[Sequence[str]], tags: Iterable[Sequence[str]],
                       min_word_count: int = 1, max_words: int = 0):
  """Builds (words, chars, tags) vocabularies from training sentences."""
  flat = [t for toks in sentences_tokens for t in toks]
  char_counts = collections.Counter()
  for t in flat:
    char_counts.update(t)
  # One TF call for all tokens: per-sentence calls are slow.
  word_counts = collections.Counter(normalize_word_list(flat))
  tag_set = set()
  for ts in tags:
    tag_set.update(ts)
  words = Vocabulary.build(word_counts, min_count=min_word_count, max_size=max_words)
  chars = Vocabulary.build(char_counts)
  tag_list = ["O"] + sorted(tag_set - {"O"}, key=lambda t: (t[2:], t[0]))
  return words, chars, Vocabulary(tag_list, reserved=())
