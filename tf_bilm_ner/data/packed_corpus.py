"""Corpus shards packed as arrays, for pretraining away from TensorFlow (`torch_port/`).

A machine with a GPU but without this package's TensorFlow (the pinned 2.15 with its CUDA
libraries is over a gigabyte) trains from one file that needs only numpy to read. Its
features are the graph's own: every distinct token of the shards ("type") goes through
`Featurizer`, the one featurisation of training and serving, so the word ids and character
ids a trainer reads are exactly those `lm_dataset` would feed the Keras BiLM.

Arrays (`pack`):
  type_word_ids   [types] int32            word id of each type (normalised lookup)
  type_char_ids   [types, max_chars] uint16 its character ids, 0 after its last character
  type_strings    [types] str              the type itself (for checks and debugging)
  <split>_tokens  [tokens] int32           type id of each token of the split, lines one
                                           after another, in shard order
  <split>_offsets [lines + 1] int64        line i is tokens[offsets[i]:offsets[i + 1]]
  word_vocab_size, char_vocab_size         scalars: the vocabularies' sizes
Types are numbered by frequency, most frequent first, so the streams compress well.
Lines are split on whitespace and cut to `max_tokens_per_line`, empty lines dropped, as
`corpus.lm_dataset` reads them.

On disk: an uncompressed .npz inside an xz stream (`save`, `load`). Reading needs only numpy:
TensorFlow is imported by `pack` alone.
"""
import collections
import io
import lzma
from typing import TYPE_CHECKING, Dict, Iterable, Sequence

import numpy as np

from tf_bilm_ner import files
from tf_bilm_ner.errors import UserError

if TYPE_CHECKING:  # TensorFlow only where `pack` runs
  from tf_bilm_ner.data.labeled import Featurizer

FEATURIZE_BATCH = 65536  # types per Featurizer call
REQUIRED = ("type_word_ids", "type_char_ids", "word_vocab_size", "char_vocab_size",
            "train_tokens", "train_offsets", "valid_tokens", "valid_offsets")


class PackedCorpusError(UserError):
  """A packed corpus file that cannot be read; the message names the file."""


def _split_lines(paths: Sequence[str], max_tokens_per_line: int) -> Iterable[list]:
  for path in paths:
    with open(path, encoding="utf-8", errors="replace") as f:
      for line in f:
        tokens = line.split()[:max_tokens_per_line]
        if tokens:
          yield tokens


def _type_features(types: Sequence[str], featurizer):
  """types -> (word ids [n] int32, char ids [n, max_chars] uint16), as the graph computes."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  word_ids = np.zeros([len(types)], np.int32)
  char_ids = np.zeros([len(types), featurizer.max_chars], np.uint16)
  for start in range(0, len(types), FEATURIZE_BATCH):
    chunk = tf.constant(list(types[start:start + FEATURIZE_BATCH]))[:, None]   # [n, 1]
    out = featurizer(chunk)
    word_ids[start:start + len(chunk)] = out["token_ids"].numpy()[:, 0]
    chars = out["char_ids"].numpy()[:, 0, :]                                      # [n, C]
    char_ids[start:start + len(chunk), :chars.shape[1]] = chars
  return word_ids, char_ids


def pack(splits: Dict[str, Sequence[str]], featurizer: "Featurizer",
         max_tokens_per_line: int = 256) -> Dict[str, np.ndarray]:
  """{split name: shard paths} -> the arrays of the module docstring. `featurizer`: a
  `labeled.Featurizer` with the LM vocabularies.

  Raises:
    CorpusError: a split has no non-empty line.
  """
  from tf_bilm_ner.data.sharding import CorpusError  # pylint: disable=g-import-not-at-top
  index: Dict[str, int] = {}
  counts = collections.Counter()
  streams = {}
  for name, paths in splits.items():
    if not paths:
      raise CorpusError(f"no shards for split {name!r}")
    tokens, offsets = [], [0]
    for line in _split_lines(paths, max_tokens_per_line):
      ids = [index.setdefault(t, len(index)) for t in line]
      tokens.extend(ids)
      offsets.append(len(tokens))
    if len(offsets) == 1:
      raise CorpusError(f"{list(paths)[:3]}: no text for split {name!r}")
    tokens = np.asarray(tokens, np.int32)
    counts.update(dict(zip(*np.unique(tokens, return_counts=True))))
    streams[name] = (tokens, np.asarray(offsets, np.int64))
  first_seen = list(index)
  # Most frequent first; ties in order of first occurrence (deterministic).
  order = sorted(range(len(first_seen)), key=lambda i: (-counts[i], i))
  new_id = np.empty([len(order)], np.int32)
  new_id[order] = np.arange(len(order), dtype=np.int32)
  types = [first_seen[i] for i in order]
  word_ids, char_ids = _type_features(types, featurizer)
  out = {"type_word_ids": word_ids, "type_char_ids": char_ids,
         "type_strings": np.asarray(types, dtype=str),
         "word_vocab_size": np.asarray(featurizer.word_table.size().numpy(), np.int64),
         "char_vocab_size": np.asarray(featurizer.char_vocab_size, np.int64)}
  for name, (tokens, offsets) in streams.items():
    out[f"{name}_tokens"] = new_id[tokens]
    out[f"{name}_offsets"] = offsets
  return out


def save(path: str, arrays: Dict[str, np.ndarray], preset: int = 9) -> None:
  """Writes `arrays` as an xz-compressed .npz, atomically."""
  buf = io.BytesIO()
  np.savez(buf, **arrays)
  with files.atomic_file(path, "wb") as f:
    f.write(lzma.compress(buf.getvalue(), preset=preset))


def load(path: str) -> Dict[str, np.ndarray]:
  """Reads what `save` wrote. Raises PackedCorpusError: missing, not xz, not an npz, or
  without the arrays a trainer needs."""
  try:
    with open(path, "rb") as f:
      data = np.load(io.BytesIO(lzma.decompress(f.read())))
      arrays = {k: data[k] for k in data.files}
  except (OSError, lzma.LZMAError, ValueError, EOFError) as e:
    raise PackedCorpusError(f"{path}: not a packed corpus (tools/pack_lm_corpus.py writes "
                            f"one): {e}") from None
  missing = [k for k in REQUIRED if k not in arrays]
  if missing:
    raise PackedCorpusError(f"{path}: not a packed corpus: no {', '.join(missing)}")
  return arrays


def describe(arrays: Dict[str, np.ndarray]) -> dict:
  """Counts of a packed corpus: types, and lines and tokens per split."""
  splits = sorted(k[:-len("_tokens")] for k in arrays if k.endswith("_tokens"))
  return {"counts": {"types": int(len(arrays["type_word_ids"])),
                     **{f"{s}_lines": int(len(arrays[f"{s}_offsets"]) - 1) for s in splits},
                     **{f"{s}_tokens": int(len(arrays[f"{s}_tokens"])) for s in splits}}}
