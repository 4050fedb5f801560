"""A BiLM pretrained outside TensorFlow (`torch_port/`) -> a package `--init_from_bilm` reads.

Input: the trainer's `out_dir` (report.json; weights.json and the weights-*.npz parts it names,
in Keras names and layouts, with reference states) and the vocabulary directory the corpus was
packed with. The Keras
encoder is built from the report's sizes, given the weights, and run on the stored reference
lines: its states must equal the trainer's to `tolerance`, or nothing is written. The
package has the layout of `packaging.package` (bilm_config.json, vocab/, ckpt/, manifest.json),
so surgery, `train_bilm --init_from_bilm` and the tests read it as any other.
"""
import json
import os
import shutil

import numpy as np
import tensorflow as tf

from tf_bilm_ner import files, provenance
from tf_bilm_ner.config import BiLMConfig, EncoderConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.lm_vocab import LM_RESERVED
from tf_bilm_ner.errors import OutputExistsError
from tf_bilm_ner.torch_port import weights as weights_lib
from tf_bilm_ner.training import bilm_steps
from tf_bilm_ner.transfer import packaging, surgery

REFERENCE = "reference/"


def _config(report: dict, words: int, chars: int, max_chars: int) -> BiLMConfig:
  sizes = report["sizes"]
  if (sizes["word_vocab_size"], sizes["char_vocab_size"]) != (words, chars):
    raise surgery.TransferError(
        f"the weights are for {sizes['word_vocab_size']} words and {sizes['char_vocab_size']} "
        f"characters; the vocabulary directory has {words} and {chars}")
  encoder = EncoderConfig(word_vocab_size=words, char_vocab_size=chars,
                          max_chars_per_token=max_chars, word_dropout=0.0,
                          **{k: sizes[k] for k in ("word_dim", "char_dim", "char_filters",
                                                   "char_kernel_size", "lstm_units",
                                                   "dropout")})
  return BiLMConfig(encoder=encoder)


def reference_check(config: BiLMConfig, arrays: dict) -> float:
  """Largest |Keras state - trainer's state| on the reference lines, the Keras encoder
  holding `arrays` (float32)."""
  bilm = bilm_steps.build_bilm(config)
  for name, get in surgery.ENCODER_VARIABLES.items():
    get(bilm.encoder).assign(arrays[f"encoder/{name}"].astype(np.float32))
  features = {k: tf.constant(arrays[REFERENCE + k])
              for k in ("token_ids", "char_ids", "lengths")}
  forward, backward = bilm.encoder(features, training=False)
  mask = np.arange(features["token_ids"].shape[1])[None, :] < arrays[REFERENCE + "lengths"][:, None]
  return float(max(np.abs(forward.numpy() - arrays[REFERENCE + "forward"])[mask].max(),
                   np.abs(backward.numpy() - arrays[REFERENCE + "backward"])[mask].max()))


def import_bilm(weights_dir: str, vocab_dir: str, out_dir: str, max_chars_per_token: int = 32,
                tolerance: float = 1e-4, overwrite: bool = False) -> dict:
  """Writes the package `out_dir`; returns its manifest.

  Raises:
    surgery.TransferError: the weights do not fit the vocabularies, or the Keras encoder's
      states differ from the reference states by more than `tolerance`.
    OutputExistsError: `out_dir` exists and not `overwrite`.
  """
  if os.path.exists(out_dir) and not overwrite:
    raise OutputExistsError(f"{out_dir} exists; pass --overwrite to replace it")
  report_path = os.path.join(weights_dir, "report.json")
  try:
    with open(report_path, encoding="utf-8") as f:
      report = json.load(f)
    arrays = weights_lib.load_parts(os.path.join(weights_dir, "weights"))
  except (OSError, ValueError) as e:
    raise surgery.TransferError(f"{weights_dir}: not a torch_port output ({e})") from None
  words_path, chars_path = (os.path.join(vocab_dir, n) for n in ("words.txt", "chars.txt"))
  words = vocab_lib.Vocabulary.load(words_path, reserved=LM_RESERVED)
  chars = vocab_lib.Vocabulary.load(chars_path)
  config = _config(report, len(words), len(chars), max_chars_per_token)
  difference = reference_check(config, arrays)
  if difference > tolerance:
    raise surgery.TransferError(f"{weights_dir}: the Keras encoder's states differ from the "
                                f"trainer's by {difference:.3g} (> {tolerance})")
  values = {k: v for k, v in arrays.items() if k.startswith("encoder/")}
  with files.atomic_directory(out_dir, overwrite=True) as tmp:
    os.makedirs(os.path.join(tmp, "vocab"))
    for path in (words_path, chars_path):
      shutil.copy(path, os.path.join(tmp, "vocab"))
    config.save(os.path.join(tmp, "bilm_config.json"))
    packaging.write_checkpoint(values, os.path.join(tmp, "ckpt"), int(report["steps"]))
    manifest = _manifest(report, tmp, values, difference)
    files.write_json_atomic(os.path.join(tmp, packaging.MANIFEST), manifest)
  return manifest


def _manifest(report: dict, tmp: str, values: dict, difference: float) -> dict:
  history = [{"run": "torch_port", "epoch": row["epoch"], "step": row["step"],
              "tokens_seen": row["tokens_seen"], "epoch_end": row["epoch_end"],
              **{k: row[k] for k in ("valid_perplexity_forward", "valid_perplexity_backward")}}
             for row in report["history"]]
  return {
      "trained_with": "torch_port (tools/train_bilm_torch.py): full softmax",
      "dtype": str(next(iter(values.values())).dtype),
      "steps": report["steps"],
      "epochs": report["epochs_seen"],
      "valid_perplexity": history,
      "pretraining": {k: report.get(k) for k in (
          "command", "packed", "date_utc", "device", "torch", "numpy", "settings", "sizes",
          "tokens_seen", "elapsed_secs", "tokens_per_sec", "train_tokens_per_epoch")},
      "reference_check_max_abs_difference": difference,
      "packaging": provenance.record([]),
      "files_sha256_prefix": provenance.tree_sha256_prefixes(tmp),
      "encoder_parameters": int(sum(v.size for v in values.values())),
      "includes_softmax": False,
  }
