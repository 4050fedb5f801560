"""A run directory: its layout, who holds it, its configs and its history.

  <run_dir>/
    tagger_config.json   TaggerConfig: how to rebuild the model
    train_config.json    TrainConfig: how it was trained
    vocab/words.txt, vocab/chars.txt, vocab/tags.txt
    ckpt/                latest checkpoints (model, optimiser, loop state): resume from here
    best/                the checkpoint with the best devel F1: evaluate and export this
    tensorboard/         train/ and devel/ summaries
    history.jsonl        one JSON line per epoch: loss, devel P/R/F1, tokens/s, wall time
    transfer.json        with --init_from_bilm: what was mapped from which BiLM checkpoint
    eval/                scores.json and predictions written by tools/train_tagger.py
    .lock                the process training in it (`hold`)

A BiLM run (`bilm_loop.py`) has the same `vocab/`, `ckpt/`, `tensorboard/`, `history.jsonl`
and `.lock`, with `bilm_config.json` and `bilm_train_config.json`.
"""
import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import socket
from typing import Any, Dict, Optional, Sequence

import tensorflow as tf
from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.config import ConfigError
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.errors import UserError


class RunDirError(UserError):
  """A run directory that cannot be used as asked."""


@dataclasses.dataclass
class Vocabs:
  words: vocab_lib.Vocabulary
  chars: vocab_lib.Vocabulary
  tags: vocab_lib.Vocabulary

  def save(self, directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name in ("words", "chars", "tags"):
      getattr(self, name).save(os.path.join(directory, f"{name}.txt"))

  @classmethod
  def load(cls, directory: str) -> "Vocabs":
    return cls(vocab_lib.Vocabulary.load(os.path.join(directory, "words.txt")),
               vocab_lib.Vocabulary.load(os.path.join(directory, "chars.txt")),
               vocab_lib.Vocabulary.load(os.path.join(directory, "tags.txt"), reserved=()))


LOCK_FILE = ".lock"
_HELD: Dict[str, int] = {}  # real path -> open lock file of a run directory this process holds


@contextlib.contextmanager
def hold(run_dir: str):
  """Holds `run_dir` for this process for the duration of the block.

  Another process asking for it meanwhile gets a RunDirError naming the holder. The hold is
  an flock on `<run_dir>/.lock`: the kernel releases it when its process ends, however it
  ends (SIGKILL included), so a crashed run never leaves the directory stuck. Re-entrant
  within a process.
  """
  check_writable(run_dir)
  key = os.path.realpath(run_dir)
  if key in _HELD:
    yield
    return
  fd = os.open(os.path.join(run_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
    os.close(fd)
    raise RunDirError(f"{run_dir}: in use by {holder}; wait for it to finish or stop it, or "
                      "choose another --run_dir") from None
  except OSError as e:  # a file system without locks (some NFS set-ups)
    os.close(fd)
    logging.warning("%s: cannot lock the run directory (%s); make sure no other process "
                    "trains in it", run_dir, e.strerror)
    yield
    return
  os.ftruncate(fd, 0)
  os.write(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
  _HELD[key] = fd
  try:
    yield
  finally:
    del _HELD[key]
    os.close(fd)  # releases the flock


def paths(run_dir: str) -> dict:
  return {k: os.path.join(run_dir, v) for k, v in dict(
      tagger_config="tagger_config.json", train_config="train_config.json", vocab="vocab",
      ckpt="ckpt", best="best", tensorboard="tensorboard", history="history.jsonl").items()}


def check_writable(run_dir: str) -> None:
  """Fails before any training if the run directory cannot be written."""
  try:
    os.makedirs(run_dir, exist_ok=True)
    probe = os.path.join(run_dir, f".write-probe-{os.getpid()}")
    with open(probe, "w") as f:
      f.write("x")
    os.remove(probe)
  except OSError as e:
    raise RunDirError(f"{run_dir}: cannot write to the run directory ({e.strerror})") from None


VOCAB_SIZE_KEYS = ("num_tags", "word_vocab_size", "char_vocab_size")


def requested(config_dict: dict) -> dict:
  """A config as a dict, without the sizes the vocabularies fill in."""
  return {k: requested(v) if isinstance(v, dict) else v
          for k, v in config_dict.items() if k not in VOCAB_SIZE_KEYS}


def prepare(run_dir: str, configs: Dict[str, Any], overwrite: bool,
            outputs: Sequence[str] = ("ckpt", "best", "vocab", "tensorboard", "history.jsonl",
                                     "transfer.json", "eval")
            ) -> bool:
  """Checks a run directory. Returns True if it holds a run to resume.

  Args:
    run_dir: the directory.
    configs: file name -> the config object requested for this run.
    overwrite: replace a run whose saved configs differ.
    outputs: what a run writes besides its configs, removed on overwrite.
  Raises:
    RunDirError: unwritable, or saved configs differ and not `overwrite`.
  """
  check_writable(run_dir)
  files = {name: os.path.join(run_dir, name) for name in configs}
  if not any(os.path.exists(f) for f in files.values()):
    return False
  try:
    same = all(requested(type(c).load(files[n]).to_dict()) == requested(c.to_dict())
               for n, c in configs.items())
  except ConfigError:
    same = False
  if same and not overwrite:
    return tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt")) is not None
  if not overwrite:
    raise RunDirError(
        f"{run_dir} holds a run with a different config ({', '.join(files.values())}); "
        "pass --overwrite to replace it or choose another --run_dir")
  for name in list(outputs) + list(configs):
    path = os.path.join(run_dir, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.exists(path):
      os.remove(path)
  return False


def append_history(run_dir: str, record: dict) -> None:
  files.append_line_synced(paths(run_dir)["history"], json.dumps(record, sort_keys=True))


def read_history(run_dir: str, upto_epoch: Optional[int] = None) -> list:
  path = paths(run_dir)["history"]
  if not os.path.exists(path):
    return []
  rows = []
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        break  # a line cut short by a crash; nothing after it is trusted
  return [r for r in rows if upto_epoch is None or r["epoch"] <= upto_epoch]


def rewrite_history(run_dir: str, rows: list) -> None:
  """Replaces history.jsonl atomically (used on resume to drop epochs not checkpointed)."""
  files.write_text_atomic(paths(run_dir)["history"],
                          "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def write_report(run_dir: str, report: dict, finished: bool) -> None:
  """Writes a BiLM run's `<run_dir>/report.json`: `report` (the shards' manifest path, the
  provenance of the latest process, the history), whether training finished, and `starts`,
  the provenance of every process that trained this run (a run resumed across several
  sessions lists each)."""
  path = os.path.join(run_dir, "report.json")
  old = {}
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      old = json.load(f)
  starts = old.get("starts", [])
  if not finished:
    starts = starts + [report["provenance"]]
  files.write_json_atomic(path, {**old, **report, "starts": starts, "finished": finished})
