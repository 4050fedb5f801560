"""A packed corpus (`data/packed_corpus.py`) -> padded batches under a token budget (numpy).

Lines are shuffled per epoch, sorted by length within chunks of `CHUNK_LINES`, cut into
batches whose padded size (lines x longest line) stays within the budget, and the batches
of a chunk are shuffled: little padding, and no batch of only long or only short lines in a
row. Each batch carries the character ids of its distinct tokens once, as the Keras CharCNN
runs under `unique_chars`; the character width is the batch's longest token, as `Featurizer`
pads it.
"""
import dataclasses
from typing import Dict, Iterator, List, Optional

import numpy as np

CHUNK_LINES = 65536


@dataclasses.dataclass
class Batch:
  word_ids: np.ndarray    # [B, T] int64, 0 at padding
  type_chars: np.ndarray  # [N, C] int64: character ids of the batch's N distinct tokens
  type_index: np.ndarray  # [B, T] int64: row of type_chars, N at padding
  lengths: np.ndarray     # [B] int64

  def char_ids(self) -> np.ndarray:
    """[B, T, C] character ids per position, zeros at padding: the Keras encoder's input."""
    return np.concatenate([self.type_chars, np.zeros_like(self.type_chars[:1])])[self.type_index]


class Corpus:
  """One split of a packed corpus (`arrays` as `packed_corpus.load` returns them)."""

  def __init__(self, arrays: Dict[str, np.ndarray], split: str):
    self.tokens = arrays[f"{split}_tokens"]
    self.offsets = arrays[f"{split}_offsets"]
    self.lengths = np.diff(self.offsets)
    self.type_word_ids = arrays["type_word_ids"].astype(np.int64)
    self.type_char_ids = arrays["type_char_ids"].astype(np.int64)
    self.type_char_lengths = (self.type_char_ids != 0).sum(axis=1)

  @property
  def num_tokens(self) -> int:
    return int(self.lengths.sum())

  def plan(self, batch_tokens: int, rng: Optional[np.random.Generator] = None
           ) -> List[np.ndarray]:
    """The epoch's batches as arrays of line indices (shuffled if `rng`)."""
    n = len(self.lengths)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    out = []
    for start in range(0, n, CHUNK_LINES):
      chunk = order[start:start + CHUNK_LINES]
      chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
      lengths = self.lengths[chunk]
      batches, first = [], 0
      while first < len(chunk):
        # Sorted by length, so k lines from `first` pad to k * lengths[first + k - 1], which
        # grows with k: the batch takes every k that fits (at least one line).
        end = min(len(chunk), first + max(1, batch_tokens // max(1, lengths[first])))
        k = np.arange(1, end - first + 1)
        count = max(1, int((k * lengths[first:end] <= batch_tokens).sum()))
        batches.append(chunk[first:first + count])
        first += count
      if rng is not None:
        batches = [batches[j] for j in rng.permutation(len(batches))]
      out.extend(batches)
    return out

  def batch(self, lines: np.ndarray) -> Batch:
    """Line indices -> a Batch."""
    lengths = self.lengths[lines]
    time = int(lengths.max())
    real = np.arange(time)[None, :] < lengths[:, None]
    pos = np.where(real, self.offsets[lines][:, None] + np.arange(time)[None, :], 0)
    types = self.tokens[pos]
    unique, inverse = np.unique(types[real], return_inverse=True)
    type_index = np.full(types.shape, len(unique), np.int64)
    type_index[real] = inverse
    width = max(1, int(self.type_char_lengths[unique].max()))
    return Batch(word_ids=np.where(real, self.type_word_ids[types], 0),
                 type_chars=self.type_char_ids[unique, :width],
                 type_index=type_index, lengths=lengths.astype(np.int64))

  def batches(self, batch_tokens: int, rng: Optional[np.random.Generator] = None
              ) -> Iterator[Batch]:
    for lines in self.plan(batch_tokens, rng):
      yield self.batch(lines)
