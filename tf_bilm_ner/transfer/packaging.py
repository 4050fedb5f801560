"""A pretrained BiLM packaged for fine-tuning: the encoder (and optionally the softmax),
optionally in float16.

  <out_dir>/
    bilm_config.json          the BiLM's config (sizes, vocabulary sizes)
    vocab/words.txt, chars.txt
    ckpt/ckpt-<step>.*, ckpt/checkpoint
    manifest.json             source run, corpus files (sha256), steps, perplexity per epoch,
                              commands, commits, dtype, sha256 of every file packaged

The checkpoint keeps the BiLM's keys (`model/encoder/...`), so `surgery.load_source` reads a
package exactly like a `train_bilm` run directory. The softmax and the optimiser state, which
fine-tuning never uses, are left out (two thirds of the BiLM's bytes at a 50k vocabulary),
unless `include_softmax`: then `train_bilm(init_from=...)` can continue pretraining from the
package (on more text, or on a tagger's own domain), its optimiser starting afresh.
`surgery.transfer` casts the stored weights to the tagger's float32.
"""
import json
import os
import shutil
from typing import Optional, Sequence

import tensorflow as tf
from absl import logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data import corpus
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.errors import OutputExistsError, error_line
from tf_bilm_ner.training import bilm_steps
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import surgery
from tf_bilm_ner.transfer import warm_start

MANIFEST = "manifest.json"
DTYPES = ("float16", "float32")


def _module_tree(values: dict) -> tf.Module:
  """{'a/b/c': array} -> nested tf.Modules whose checkpoint keys are a/b/c."""
  root = tf.Module()
  for path, value in values.items():
    node = root
    *parents, leaf = path.split("/")
    for name in parents:
      if not hasattr(node, name):
        setattr(node, name, tf.Module())
      node = getattr(node, name)
    setattr(node, leaf, tf.Variable(value, trainable=False))
  return root


def precision_check(source: surgery.BiLMSource, encoder_values: dict,
                    valid_pattern: str) -> dict:
  """Validation perplexity of the BiLM as trained, and with its encoder weights replaced by
  the stored ones (`encoder_values`: 'encoder/<name>' -> array; softmax kept): what the
  storage precision costs the language model."""
  bilm = bilm_steps.build_bilm(source.config)
  tf.train.Checkpoint(model=bilm).read(source.checkpoint).expect_partial()
  featurizer = Featurizer(source.words, source.chars, source.config.encoder.max_chars_per_token)
  data = lambda: corpus.lm_dataset(valid_pattern, featurizer, bilm_steps.EVAL_BATCH_TOKENS,
                                   seed=0, shuffle=False)
  out = {"float32": bilm_steps.perplexity(bilm, data())}
  for name, value in encoder_values.items():
    surgery.ENCODER_VARIABLES[name[len("encoder/"):]](bilm.encoder).assign(
        value.astype("float32"))
  out["stored"] = bilm_steps.perplexity(bilm, data())
  return out


SOFTMAX_VARIABLES = ("softmax_weights", "softmax_biases")


def write_checkpoint(values: dict, ckpt_dir: str, step: int) -> None:
  """{'encoder/<name>' or softmax name: array} -> a checkpoint under `ckpt_dir` whose keys
  are `model/<name>`, as a BiLM's (`surgery.load_source` reads it)."""
  ckpt = tf.train.Checkpoint(model=_module_tree(values))
  tf.train.CheckpointManager(ckpt, ckpt_dir, 1).save(checkpoint_number=step)


def package(bilm: str, out_dir: str, dtype: str = "float16", overwrite: bool = False,
            valid_pattern: Optional[str] = None, include_softmax: bool = False,
            earlier_runs: Sequence[str] = ()) -> dict:
  """Writes `out_dir` from a BiLM run directory (or checkpoint prefix); returns the manifest.

  With `valid_pattern` (validation shards), the manifest also records `precision_check`.
  With `include_softmax`, the softmax weights and biases are packaged too.
  `earlier_runs`: for a BiLM pretrained in several runs, each continuing the last
  (`--init_from_bilm ... --init_position`), the earlier runs' directories (or their copies
  in results/: `history.jsonl`, `report.json`), oldest first; the manifest's per-epoch
  perplexity and `pretraining_runs` then cover the whole chain.

  Raises:
    surgery.TransferError: `bilm` is not a usable BiLM.
    OutputExistsError (a FileExistsError): `out_dir` exists and not `overwrite`.
  """
  if dtype not in DTYPES:
    raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
  if os.path.exists(out_dir) and not overwrite:
    raise OutputExistsError(f"{out_dir} exists; pass --overwrite to replace it")
  source = surgery.load_source(bilm)
  reader = tf.train.load_checkpoint(source.checkpoint)
  values = {}
  for short in surgery.ENCODER_VARIABLES:
    key = f"model/encoder/{short}{surgery.SUFFIX}"
    try:
      values[f"encoder/{short}"] = reader.get_tensor(key).astype(dtype)
    except (tf.errors.OpError, ValueError, IndexError) as e:
      raise surgery.TransferError(f"{source.checkpoint}: cannot read {key} "
                                   f"({error_line(e)})") from None
  for short in SOFTMAX_VARIABLES if include_softmax else ():
    key = f"model/{short}{surgery.SUFFIX}"
    if not reader.has_tensor(key):
      raise surgery.TransferError(f"{source.checkpoint}: has no {short} (a package without "
                                   "the softmax cannot be packaged with it)")
    values[short] = reader.get_tensor(key).astype(dtype)
  step = int(reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) \
      if reader.has_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") else 0
  # Where in its data the source stopped (train_bilm's loop state), for a continuation.
  position = warm_start.checkpoint_position(reader)
  with files.atomic_directory(out_dir, overwrite=True) as tmp:
    os.makedirs(os.path.join(tmp, "vocab"))
    for name in ("words.txt", "chars.txt"):
      shutil.copy(os.path.join(source.directory, "vocab", name), os.path.join(tmp, "vocab"))
    shutil.copy(os.path.join(source.directory, "bilm_config.json"), tmp)
    write_checkpoint(values, os.path.join(tmp, "ckpt"), step)
    # A checkpoint named by its prefix may be older than the run's history (which goes on):
    # the manifest then lists the epochs that checkpoint had finished.
    before = position.get("epoch") if not os.path.isdir(bilm) else None
    manifest = _manifest(source, tmp, dtype, step, values, earlier_runs, before)
    manifest["source_position"] = position
    if valid_pattern:
      encoder = {k: v for k, v in values.items() if k.startswith("encoder/")}
      manifest["valid_perplexity_by_storage"] = precision_check(source, encoder, valid_pattern)
      logging.info("validation perplexity with float32 / %s encoder weights: %s", dtype,
                   manifest["valid_perplexity_by_storage"])
    files.write_json_atomic(os.path.join(tmp, MANIFEST), manifest)
  return manifest


def _read_json(path: Optional[str]):
  if not path or not os.path.exists(path):
    return path
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _run_record(directory: str):
  """(report, history) of a train_bilm run directory (or its copy in results/).
  Raises surgery.TransferError if report.json is not JSON."""
  report_path = os.path.join(directory, "report.json")
  report = {}
  if os.path.exists(report_path):  # written by train_bilm at every start and at the end
    with open(report_path, encoding="utf-8") as f:
      try:
        report = json.load(f)
      except json.JSONDecodeError as e:
        raise surgery.TransferError(f"{report_path}:{e.lineno}: not JSON ({e.msg})") from None
  # history.jsonl gains each epoch's row as the epoch ends; report.json's history is a copy
  # made when train_bilm last started or finished, stale while a resumed run goes on.
  return report, run_dir_lib.read_history(directory) or report.get("history") or []


def pretraining_chain(source_dir: str, earlier_runs: Sequence[str] = (),
                      before_epoch: Optional[int] = None):
  """Per-epoch validation perplexity and the runs behind it, `earlier_runs` (oldest first)
  then `source_dir`: ([{run, epoch, valid_perplexity_forward, ..._backward}], [{run,
  epochs, commands, git_commits}]). `before_epoch`: only `source_dir`'s epochs before it
  (those a checkpoint of an unfinished run had trained). Raises surgery.TransferError if an earlier run has
  neither report.json nor history.jsonl, or the epochs do not follow one another (a run
  given twice, or out of order)."""
  rows, runs = [], []
  for directory in earlier_runs:
    if not any(os.path.exists(os.path.join(directory, name))
               for name in ("report.json", "history.jsonl")):
      raise surgery.TransferError(f"{directory}: not a BiLM run (no report.json or "
                                   "history.jsonl); --earlier_runs takes run directories")
  for directory in [*earlier_runs, source_dir]:
    report, history = _run_record(directory)
    if directory == source_dir and before_epoch is not None:
      history = [row for row in history if row["epoch"] < before_epoch]
    name = os.path.basename(os.path.normpath(directory))
    starts = report.get("starts") or []
    runs.append({"run": name, "epochs": [row["epoch"] for row in history],
                 "commands": [s.get("command") for s in starts],
                 "git_commits": [s.get("git_commit") for s in starts]})
    for row in history:
      if rows and row["epoch"] <= rows[-1]["epoch"]:
        raise surgery.TransferError(
            f"{directory}: epoch {row['epoch']} does not follow epoch {rows[-1]['epoch']} of "
            f"{rows[-1]['run']}; give the earlier runs oldest first, each once")
      rows.append({"run": name, **{k: row[k] for k in (
          "epoch", "valid_perplexity_forward", "valid_perplexity_backward")}})
  return rows, runs


def _manifest(source: surgery.BiLMSource, tmp: str, dtype: str, step: int,
              values: dict, earlier_runs: Sequence[str] = (),
              before_epoch: Optional[int] = None) -> dict:
  report, _ = _run_record(source.directory)
  history, runs = pretraining_chain(source.directory, earlier_runs, before_epoch)
  return {
      "source_run": os.path.abspath(source.directory),
      "source_checkpoint": os.path.basename(source.checkpoint),
      "dtype": dtype,
      "steps": step,
      "epochs": len(history),
      "valid_perplexity": history,
      "pretraining_runs": runs,
      "pretraining": report.get("provenance"),
      "corpus": (report.get("provenance") or {}).get("data_files"),  # path -> sha256 prefix
      "shards": _read_json(report.get("shards_manifest")),
      "packaging": provenance.record([]),
      "files_sha256_prefix": provenance.tree_sha256_prefixes(tmp),
      "encoder_parameters": int(sum(v.size for k, v in values.items()
                                    if k.startswith("encoder/"))),
      "includes_softmax": any(k in values for k in SOFTMAX_VARIABLES),
  }
