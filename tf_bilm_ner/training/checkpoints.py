"""Checkpoints of a run: writing (a failed write is one clear error), restoring, and
rebuilding a trained tagger from its run directory."""
import os
import shutil
from typing import Any, Dict, Sequence

import tensorflow as tf

from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.errors import error_line
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training.run_dir import RunDirError, Vocabs, paths


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
    message = getattr(e, "strerror", None) or error_line(e)[-200:]
    raise RunDirError(
        f"{manager.directory}: could not write a checkpoint ({message}); the last complete "
        f"one ({manager.latest_checkpoint or 'none yet'}) is intact. Free space and rerun the "
        "same command to resume from it") from None


def restore_tagger(run_dir: str, which: str = "best"):
  """Rebuilds the tagger of a run and restores a checkpoint.

  Args:
    run_dir: a run directory written by `tagger_loop.train_tagger`.
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
    raise RunDirError(f"{prefix}: unreadable checkpoint ({error_line(e)[:300]}); the "
                      "previous checkpoint, if any, is listed in the directory's `checkpoint` "
                      "file") from None
  return tagger, featurizer, vocabs, config


def restore(path: str, core: Dict[str, Any], optional: Dict[str, Any]) -> None:
  """Restores a training checkpoint: `core` objects must all be in it; `optional` ones
  (added to the format later) are restored when present and keep their values otherwise.
  Neither restore warns about the values the other one reads."""
  tf.train.Checkpoint(**core).restore(path).assert_existing_objects_matched().expect_partial()
  tf.train.Checkpoint(**optional).restore(path).expect_partial()


def build_variables(tagger: Tagger) -> None:
  """Creates the tagger's variables with a dummy batch, so restores are immediate."""
  tagger.build_from_features({"token_ids": tf.zeros([1, 2], tf.int32),
                              "char_ids": tf.zeros([1, 2, 3], tf.int32),
                              "lengths": tf.constant([2], tf.int32)})
