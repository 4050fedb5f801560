"""Independent trainings at the same time, each in its own process with its share of the CPU.

A tagger's small LSTM steps do not keep two cores busy: on 2 cores, one training ran an
epoch of NCBI-disease in 10.2 s with both, and two trainings side by side, one thread
each, ran one each in 15.7 s, 1.3 times the work per second (results/README.md, issue #18).
The pipeline trains its BiLM-init and random-init taggers this way.

Each call runs in a fresh ("spawn") process whose TensorFlow is limited to
`threads_per_process` threads for ops and one for scheduling (set before it is imported),
so a run is deterministic for a given machine and thread count; figures differ in the last
digits from the same training in one process with every thread (summation order).
"""
import concurrent.futures
import multiprocessing
import os
import threading
import time
from typing import Any, Callable, List, Sequence, Tuple

from absl import logging

Call = Tuple[Callable[..., Any], Tuple[Any, ...]]


def threads_per_process(processes: int) -> int:
  """This machine's cores shared among `processes` (at least one each)."""
  return max(1, (os.cpu_count() or 1) // processes)


def _init(threads: int, verbosity: int) -> None:
  os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
  os.environ["TF_NUM_INTEROP_THREADS"] = "1"
  logging.set_verbosity(verbosity)
  threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
  """Ends this process within a second of its parent's end (`kill <pipeline>` must not leave
  trainings running on their own; an interrupted run resumes from its checkpoints)."""
  while os.getppid() == parent:
    time.sleep(1.0)
  os._exit(1)  # pylint: disable=protected-access


def run(calls: Sequence[Call], processes: int = 0) -> List[Any]:
  """Runs each (function, args) in its own process at once; returns their results in order.

  `processes`: how many the cores are shared among (0: one share per call). A resumed run
  with fewer calls left gives the same share to each, so its figures match an
  uninterrupted run's.

  Functions and arguments must be picklable (module-level functions, dataclasses, str).
  An exception in one call is raised here after every call has ended, so no process is
  left running; a run directory they write is as an interrupted run leaves it, and a rerun
  resumes it.
  """
  threads = threads_per_process(processes or len(calls))
  logging.info("running %d trainings at once, %d thread(s) each", len(calls), threads)
  context = multiprocessing.get_context("spawn")
  with concurrent.futures.ProcessPoolExecutor(
      max_workers=len(calls), mp_context=context, initializer=_init,
      initargs=(threads, logging.get_verbosity())) as pool:
    futures = [pool.submit(fn, *args) for fn, args in calls]
    concurrent.futures.wait(futures)
  return [f.result() for f in futures]
