"""What a training loop needs to know about the workers of a tf.distribute strategy.

Under `MultiWorkerMirroredStrategy` every worker runs the same loop; the chief
(task `chief`, or `worker` 0 when there is none) alone writes the run
directory. The others still take part in every checkpoint save (the TF
multi-worker pattern: a save may run collectives), writing to a scratch
directory they delete straight after. Decisions that change which collectives
run (saving now, stopping) must be the same on every worker, so a local
decision is agreed with `any_worker`.
"""
import hashlib
import os

import tensorflow as tf


def num_workers(strategy: tf.distribute.Strategy) -> int:
  """How many machines run the loop (1 for the default and Mirrored strategies)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None:
    return 1
  spec = resolver.cluster_spec().as_dict()
  return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """True where the run directory is written."""
  return bool(strategy.extended.should_checkpoint)


def task_id(strategy: tf.distribute.Strategy) -> int:
  resolver = getattr(strategy, "cluster_resolver", None)
  return int(resolver.task_id or 0) if resolver is not None else 0


def scratch_dir(directory: str, strategy: tf.distribute.Strategy) -> str:
  """`directory` on the chief; a per-worker scratch directory beside it elsewhere."""
  if is_chief(strategy):
    return directory
  return os.path.join(os.path.dirname(directory),
                      f".{os.path.basename(directory)}-worker-{task_id(strategy)}")


def _gather(strategy: tf.distribute.Strategy, value: float) -> list:
  """Every replica's `value` on every worker (an all-gather: call it on all workers)."""
  per_replica = strategy.run(lambda: tf.constant([value], tf.float64))
  return strategy.gather(per_replica, axis=0).numpy().tolist()


def any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
  """True on every worker if `flag` is True on any (a collective: call it on all workers)."""
  if num_workers(strategy) == 1:
    return flag
  return max(_gather(strategy, 1.0 if flag else 0.0)) > 0


def all_agree(strategy: tf.distribute.Strategy, text: str) -> bool:
  """True on every worker if all workers passed the same `text` (compared by 48-bit hash)."""
  if num_workers(strategy) == 1:
    return True
  # float64 holds a 48-bit integer exactly.
  fingerprint = float(int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16))
  return len(set(_gather(strategy, fingerprint))) == 1
