"""train_bilm under MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1.

Both workers must end with identical weights; only the chief writes the run
directory; a second run resumes both workers from the chief's checkpoint.
"""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.test_bilm_training import _shards

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each worker runs this in its own process (the strategy must exist before any other TF op).
WORKER_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
from tests.test_bilm_training import train_small
from tf_bilm_ner.training import distribute
shards, run_dir, out, max_steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
result = train_small(shards, run_dir, strategy, steps_per_epoch=3, max_steps=max_steps)
np.savez(out, *[v.numpy() for v in result.model.trainable_variables],
         steps=[h["step"] for h in result.history])
print("WORKERS", distribute.num_workers(strategy), "CHIEF", distribute.is_chief(strategy))
"""


def _free_ports(n):
  socks = [socket.socket() for _ in range(n)]
  for s in socks:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ports


class MultiWorkerTest(tf.test.TestCase):

  def _run_workers(self, script, shards, run_dir, out_dir, max_steps):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for i in range(2):
      tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
      env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2",
                 TF_CONFIG=json.dumps(tf_config))
      procs.append(subprocess.Popen(
          [sys.executable, script, shards, run_dir, os.path.join(out_dir, f"w{i}.npz"),
           str(max_steps)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
      for p in procs:
        outputs.append(p.communicate(timeout=300))
    finally:
      for p in procs:  # a hung collective must not outlive the test
        if p.poll() is None:
          p.kill()
          p.wait()
    for p, (out, err) in zip(procs, outputs):
      self.assertEqual(p.returncode, 0, err[-3000:])
    self.assertIn("WORKERS 2 CHIEF True", outputs[0][0])
    self.assertIn("WORKERS 2 CHIEF False", outputs[1][0])
    results = []
    for i in range(2):
      with np.load(os.path.join(out_dir, f"w{i}.npz")) as f:
        results.append({k: f[k] for k in f.files})
    return results

  def test_two_workers_end_identical_and_resume(self):
    tmp = self.get_temp_dir()
    shards = _shards(os.path.join(tmp, "c"), num_shards=3)  # uneven: 2 files and 1 file
    script = os.path.join(tmp, "worker.py")
    with open(script, "w") as f:
      f.write(WORKER_SCRIPT)
    run_dir = os.path.join(tmp, "run")
    first = self._run_workers(script, shards, run_dir, tmp, max_steps=4)  # stops mid-epoch 1
    self.assertEqual(list(first[0]["steps"]), [3, 4])
    self.assertEqual(list(first[1]["steps"]), [3, 4])
    names = [k for k in first[0] if k != "steps"]
    self.assertNotEmpty(names)
    for k in names:
      self.assertAllEqual(first[0][k], first[1][k])
    # Only the chief wrote (and held the directory): no worker scratch checkpoint left, one
    # history row.
    self.assertEqual(sorted(os.listdir(run_dir)),
                     [".lock", "bilm_config.json", "bilm_train_config.json", "ckpt",
                      "history.jsonl", "tensorboard", "vocab"])
    with open(os.path.join(run_dir, "history.jsonl")) as f:
      self.assertLen(f.readlines(), 1)
    # Both workers resume from the chief's step-4 checkpoint and finish epoch 1 at step 6.
    second = self._run_workers(script, shards, run_dir, tmp, max_steps=0)
    self.assertEqual(list(second[0]["steps"]), [3, 6])
    self.assertEqual(list(second[1]["steps"]), [3, 6])
    for k in names:
      self.assertAllEqual(second[0][k], second[1][k])
      self.assertNotAllClose(second[0][k], first[0][k])


if __name__ == "__main__":
  tf.test.main()
