"""Torch BiLM parameters <-> the Keras BiLM's checkpoint names and layouts (numpy only).

Names are the keys `transfer/packaging.py` stores ("encoder/<surgery.ENCODER_VARIABLES key>",
"softmax_weights", "softmax_biases"); layouts are Keras's:
  Conv1D kernel [width, in, filters]       (torch: [filters, in, width])
  LSTM kernel [in, 4U], recurrent [U, 4U]  (torch: [4U, in], [4U, U]; gates i, f, g, o in
                                            both), bias [4U] = torch's bias_ih + bias_hh
Files: `save_parts` writes npz files of at most `max_bytes` each, cutting a large array into
row blocks ("name#0", "name#1", ...), and an index naming them; `load_parts` joins them.
Only numpy (and the package's TensorFlow-free I/O layer) is imported here, so either side reads
the files without the other.
"""
import collections
import glob
import json
import os
import re
from typing import Dict

import numpy as np

from tf_bilm_ner import files

ENCODER = "encoder/"
SOFTMAX = ("softmax_weights", "softmax_biases")


def keras_arrays(model, include_softmax: bool = False) -> Dict[str, np.ndarray]:
  """A `model.BiLM` -> {Keras name: float32 array}."""
  get = lambda p: p.detach().float().cpu().numpy()
  out = {
      f"{ENCODER}word_embedding/embeddings": get(model.word_embedding.weight),
      f"{ENCODER}char_cnn/embedding/embeddings": get(model.char_embedding.weight),
      f"{ENCODER}char_cnn/conv/kernel": get(model.char_conv.weight).transpose(2, 1, 0),
      f"{ENCODER}char_cnn/conv/bias": get(model.char_conv.bias),
  }
  for name in ("forward_lstm", "backward_lstm"):
    lstm = getattr(model, name)
    out[f"{ENCODER}{name}/cell/kernel"] = get(lstm.weight_ih_l0).T
    out[f"{ENCODER}{name}/cell/recurrent_kernel"] = get(lstm.weight_hh_l0).T
    out[f"{ENCODER}{name}/cell/bias"] = get(lstm.bias_ih_l0) + get(lstm.bias_hh_l0)
  if include_softmax:
    out["softmax_weights"] = get(model.softmax_weights)
    out["softmax_biases"] = get(model.softmax_biases)
  return {k: np.ascontiguousarray(v) for k, v in out.items()}


def load_keras_arrays(model, arrays: Dict[str, np.ndarray]) -> None:
  """The inverse of `keras_arrays`: sets a `model.BiLM`'s parameters (softmax if given)."""
  import torch  # pylint: disable=g-import-not-at-top
  t = lambda name: torch.as_tensor(np.asarray(arrays[name], np.float32))
  with torch.no_grad():
    model.word_embedding.weight.copy_(t(f"{ENCODER}word_embedding/embeddings"))
    model.char_embedding.weight.copy_(t(f"{ENCODER}char_cnn/embedding/embeddings"))
    model.char_conv.weight.copy_(t(f"{ENCODER}char_cnn/conv/kernel").permute(2, 1, 0))
    model.char_conv.bias.copy_(t(f"{ENCODER}char_cnn/conv/bias"))
    for name in ("forward_lstm", "backward_lstm"):
      lstm = getattr(model, name)
      lstm.weight_ih_l0.copy_(t(f"{ENCODER}{name}/cell/kernel").T)
      lstm.weight_hh_l0.copy_(t(f"{ENCODER}{name}/cell/recurrent_kernel").T)
      lstm.bias_ih_l0.copy_(t(f"{ENCODER}{name}/cell/bias"))
      lstm.bias_hh_l0.zero_()
    for name in SOFTMAX:
      if name in arrays:
        getattr(model, name).copy_(t(name))


def _contents(arrays: Dict[str, np.ndarray], max_bytes: int) -> list:
  """arrays -> dicts of at most about `max_bytes` each, large arrays cut into row blocks."""
  pieces = []
  for name, value in arrays.items():
    if value.nbytes <= max_bytes or value.ndim == 0:
      pieces.append((name, value))
    else:
      rows = len(value)
      step = max(1, max_bytes // max(1, value.nbytes // rows))
      pieces.extend((f"{name}#{i}", value[s:s + step])
                    for i, s in enumerate(range(0, rows, step)))
  contents, current, size = [], {}, 0
  for key, value in pieces:
    if current and size + value.nbytes > max_bytes:
      contents.append(current)
      current, size = {}, 0
    current[key] = value
    size += value.nbytes
  if current:
    contents.append(current)
  return contents


def save_parts(arrays: Dict[str, np.ndarray], prefix: str, max_bytes: int, tag: str) -> list:
  """Writes `prefix`-TAG-NNNNN.npz files of at most about `max_bytes` each, then the index
  `prefix`.json naming them, then removes the parts of earlier saves; returns the paths.
  Every file is written under a temporary name and renamed, and a reader goes by the index,
  so a save cut short leaves the previous one whole. `tag` (e.g. the step) names this save."""
  paths = []
  for i, content in enumerate(_contents(arrays, max_bytes)):
    path = f"{prefix}-{tag}-{i:05d}.npz"
    with files.atomic_file(path, "wb") as f:
      np.savez(f, **content)
    paths.append(path)
  files.write_json_atomic(prefix + ".json", {"parts": [os.path.basename(p) for p in paths]})
  for stale in set(glob.glob(f"{glob.escape(prefix)}-*.npz")) - set(paths):
    os.remove(stale)
  return paths


def load_parts(prefix: str) -> Dict[str, np.ndarray]:
  """Reads what `save_parts` wrote under `prefix` (the parts its index names).
  Raises FileNotFoundError (no index, or a part it names is missing), ValueError."""
  with open(prefix + ".json", encoding="utf-8") as f:
    index = json.load(f)
  directory = os.path.dirname(prefix)
  paths = [os.path.join(directory, name) for name in index["parts"]]
  blocks = collections.defaultdict(dict)
  out = {}
  for path in paths:
    with np.load(path) as data:
      for key in data.files:
        match = re.fullmatch(r"(.+)#(\d+)", key)
        if match:
          blocks[match.group(1)][int(match.group(2))] = data[key]
        else:
          out[key] = data[key]
  for name, parts in blocks.items():
    if sorted(parts) != list(range(len(parts))):
      raise ValueError(f"{prefix}: blocks of {name} missing: have {sorted(parts)}")
    out[name] = np.concatenate([parts[i] for i in range(len(parts))])
  return out
