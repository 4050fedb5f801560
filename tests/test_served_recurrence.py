"""The served-recurrence benchmark: every variant's states equal Keras' LSTM layers' (an
independent implementation) within the dtype's rounding, and the binary writes them."""
import json
import os
import tempfile
import unittest

import numpy as np
import tensorflow as tf

from tests import helpers
from tf_bilm_ner.experiments import served_recurrence


class ServedRecurrenceTest(unittest.TestCase):

  def test_variants_match_keras(self):
    rng = np.random.RandomState(3)
    lstms = [tf.keras.layers.LSTM(5, return_sequences=True) for _ in range(2)]
    x = tf.constant(rng.normal(size=[1, 7, 3]), tf.float32)
    keras_forward = lstms[0](x)[0].numpy()
    keras_backward = lstms[1](tf.reverse(x, [1]))[0].numpy()  # reading order
    for variant in served_recurrence.VARIANTS:
      forward, backward = served_recurrence.make_call(variant, *lstms)(x)
      tolerance = 2e-2 if variant.startswith("bf16") else 1e-5
      np.testing.assert_allclose(forward.numpy(), keras_forward, atol=tolerance, err_msg=variant)
      np.testing.assert_allclose(backward.numpy(), keras_backward, atol=tolerance,
                                 err_msg=variant)

  def test_compare_rows(self):
    rows = served_recurrence.compare(tokens=4, input_dim=3, units=6, calls=1, rounds=1,
                                     variants=("split_xla", "bf16"))
    self.assertEqual([r["variant"] for r in rows], ["served", "split_xla", "bf16"])
    self.assertEqual(rows[0]["speed_vs_served"], 1.0)
    self.assertLess(rows[1]["max_state_diff"], 1e-5)
    self.assertGreater(rows[2]["max_state_diff"], 0)  # bfloat16 kernels round
    for row in rows:
      self.assertGreater(row["ms_per_sentence"], 0)

  def test_unknown_variant(self):
    with self.assertRaisesRegex(ValueError, "unknown variant 'int8'"):
      served_recurrence.make_call("int8", None, None)

  def test_binary(self):
    with tempfile.TemporaryDirectory() as tmp:
      out = os.path.join(tmp, "recurrence.json")
      proc = helpers.run_tool("benchmark_served_recurrence.py", "--tokens=3", "--input_dim=2",
                              "--units=3", "--calls=1", "--rounds=1", "--variants=served_xla",
                              f"--out={out}")
      self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
      with open(out, encoding="utf-8") as f:
        result = json.load(f)
      self.assertEqual([r["variant"] for r in result["rows"]], ["served", "served_xla"])
      self.assertEqual(result["shape"]["units"], 3)
      self.assertIn("git_commit", result["provenance"])
      bad = helpers.run_tool("benchmark_served_recurrence.py", "--variants=int8")
      self.assertNotEqual(bad.returncode, 0)
      self.assertIn("unknown ['int8']", bad.stderr)


if __name__ == "__main__":
  unittest.main()
