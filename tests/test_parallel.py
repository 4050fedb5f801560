"""training/parallel.py: results in order, each process's thread share, errors raised."""
import multiprocessing
import os
import signal
import time

import tensorflow as tf

from tf_bilm_ner.errors import FileError
from tf_bilm_ner.training import parallel


def _threads(tag):
  """Runs in the child: its TensorFlow thread settings, as TensorFlow reads them."""
  import tensorflow as child_tf  # pylint: disable=g-import-not-at-top,reimported
  return (tag, os.environ["TF_NUM_INTRAOP_THREADS"], os.environ["TF_NUM_INTEROP_THREADS"],
          child_tf.config.threading.get_intra_op_parallelism_threads(), os.getpid())


def _fail(path):
  raise FileError(path, 3, "expected a tag")


def _run_forever(path):
  """A training that would never end: writes its pid, then waits."""
  with open(path, "w") as f:
    f.write(str(os.getpid()))
  while True:
    time.sleep(0.1)


def _parent(path):
  """Runs in a subprocess: starts _run_forever through parallel.run (and is killed)."""
  parallel.run([(_run_forever, (path,))])


def _alive(pid):
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().split()[2] != "Z"
  except FileNotFoundError:
    return False


class ParallelTest(tf.test.TestCase):

  def test_killing_the_parent_ends_the_trainings(self):
    path = os.path.join(self.get_temp_dir(), "child.pid")
    parent = multiprocessing.get_context("spawn").Process(target=_parent, args=(path,))
    parent.start()
    deadline = time.time() + 120
    while not os.path.exists(path) or not open(path).read():
      self.assertLess(time.time(), deadline, "the training never started")
      time.sleep(0.2)
    child = int(open(path).read())
    os.kill(parent.pid, signal.SIGKILL)  # no cleanup in the parent at all
    parent.join()
    deadline = time.time() + 10
    while _alive(child):
      self.assertLess(time.time(), deadline, "the training outlived its parent")
      time.sleep(0.2)

  def test_results_in_order_with_a_share_of_the_cores(self):
    share = parallel.threads_per_process(2)
    self.assertEqual(share, max(1, os.cpu_count() // 2))
    got = parallel.run([(_threads, ("a",)), (_threads, ("b",))])
    self.assertEqual([g[:3] for g in got], [("a", str(share), "1"), ("b", str(share), "1")])
    self.assertNotEqual(got[0][4], got[1][4])  # two processes
    self.assertNotIn(os.getpid(), [g[4] for g in got])
    # One call left of two (a resumed pipeline): the same share as when both ran.
    self.assertEqual(parallel.run([(_threads, ("c",))], processes=2)[0][1], str(share))

  def test_an_error_is_raised_after_all_calls_end(self):
    with self.assertRaisesRegex(FileError, "train.tsv:3: expected a tag"):
      parallel.run([(_threads, ("a",)), (_fail, ("train.tsv",))])


if __name__ == "__main__":
  tf.test.main()
