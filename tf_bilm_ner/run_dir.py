"""The layout of a tagger run directory, and loading a trained tagger from it.

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
"""
import dataclasses
import json
import os
import shutil
from typing import Any, Dict, Optional, Sequence

import tensorflow as tf

from tf_bilm_ner import files
from tf_bilm_ner.config import ConfigError, TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.models.tagger import Tagger


class RunDirError(ValueError):
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


def checkpoint_bytes(objects: Sequence[Any]) -> int:
  """Bytes one checkpoint of these models/optimisers takes (float data, index excluded)."""
  return sum(v.shape.num_elements() * v.dtype.size
             for o in objects for v in o.variables)


def check_free_space(directory: str, need_bytes: int, what: str) -> None:
  """Fails before training if `directory`'s file system has less than `need_bytes` free."""
  free = shutil.disk_usage(directory).free
  if free < need_bytes:
    raise RunDirError(f"{directory}: {free / 2**20:.0f} MiB free on its file system, but "
                      f"{what} need about {need_bytes / 2**20:.0f} MiB; free space or choose "
                      "another directory")


def save_checkpoint(manager: tf.train.CheckpointManager, checkpoint_number=None) -> str:
  """CheckpointManager.save; a failed write (disk full, quota, file size limit) is one line.

  TF writes a checkpoint under `<prefix>_temp` and renames it when complete, and updates
  the `checkpoint` state file last, so a failed save leaves the previous checkpoint listed
  and intact; the temporary files are removed here.
  """
  try:
    return manager.save(checkpoint_number=checkpoint_number)
  except (tf.errors.OpError, OSError) as e:
    for leftover in tf.io.gfile.glob(os.path.join(manager.directory, "*_temp")):
      tf.io.gfile.rmtree(leftover)
    message = getattr(e, "strerror", None) or files.error_line(e)[-200:]
    raise RunDirError(
        f"{manager.directory}: could not write a checkpoint ({message}); the last complete "
        f"one ({manager.latest_checkpoint or 'none yet'}) is intact. Free space and rerun the "
        "same command to resume from it") from None


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


def load_tagger(run_dir: str, which: str = "best"):
  """Rebuilds the tagger of a run and restores a checkpoint.

  Args:
    run_dir: a run directory written by `training.train_tagger`.
    which: "best" (best devel F1) or "ckpt" (latest).
  Returns:
    (tagger, featurizer, vocabs, tagger_config)
  """
  p = paths(run_dir)
  if not os.path.isdir(run_dir):
    raise RunDirError(f"{run_dir}: run directory not found")
  config = TaggerConfig.load(p["tagger_config"])
  vocabs = Vocabs.load(p["vocab"])
  if len(vocabs.words) != config.encoder.word_vocab_size or len(vocabs.tags) != config.num_tags:
    raise RunDirError(f"{run_dir}: vocabulary sizes do not match {p['tagger_config']}")
  tagger = Tagger(config)
  featurizer = Featurizer(vocabs.words, vocabs.chars, config.encoder.max_chars_per_token)
  prefix = tf.train.latest_checkpoint(p[which])
  if prefix is None:
    raise RunDirError(f"{p[which]}: no checkpoint found")
  build_variables(tagger)
  try:
    status = tf.train.Checkpoint(model=tagger).read(prefix)
    status.assert_existing_objects_matched().expect_partial()
  except (tf.errors.OpError, ValueError, IndexError, AssertionError) as e:
    # A truncated or foreign file: TF's own message, first line, without its traceback.
    raise RunDirError(f"{prefix}: unreadable checkpoint ({files.error_line(e)[:300]}); the "
                      "previous checkpoint, if any, is listed in the directory's `checkpoint` "
                      "file") from None
  return tagger, featurizer, vocabs, config


def restore(path: str, core: Dict[str, Any], optional: Dict[str, Any]) -> None:
  """Restores a training checkpoint: `core` objects must all be in it; `optional` ones
  (added to the format later) are restored when present and keep their values otherwise."""
  tf.train.Checkpoint(**core).restore(path).assert_existing_objects_matched()
  tf.train.Checkpoint(**optional).restore(path).expect_partial()


def build_variables(tagger: Tagger) -> None:
  """Creates the tagger's variables with a dummy batch, so restores are immediate."""
  tagger.build_from_features({"token_ids": tf.zeros([1, 2], tf.int32),
                              "char_ids": tf.zeros([1, 2, 3], tf.int32),
                              "lengths": tf.constant([2], tf.int32)})


def append_history(run_dir: str, record: dict) -> None:
  with open(paths(run_dir)["history"], "a", encoding="utf-8") as f:
    f.write(json.dumps(record, sort_keys=True) + "\n")
    f.flush()
    os.fsync(f.fileno())


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
  path = paths(run_dir)["history"]
  tmp = f"{path}.tmp-{os.getpid()}"
  with open(tmp, "w", encoding="utf-8") as f:
    f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
  os.replace(tmp, path)
