"""FlatCall: the same outputs as a signature's keyword call, for in-process concrete
functions and loaded SavedModel signatures; clear errors; the keyword call where there is no
flat path."""
import os

import numpy as np
import tensorflow as tf

from tf_bilm_ner.serving.flat_call import FlatCall


class _Module(tf.Module):
  """Captures a variable and a lookup table; outputs whose names sort in another order
  than they are made, so that packing the flat outputs by the wrong order would show."""

  def __init__(self):
    super().__init__()
    self.scale = tf.Variable([[0.5, -1.0, 2.0]])
    self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        ["a", "bb", "ccc"], [1, 2, 3], tf.string, tf.int32), default_value=0)
    self.tag = tf.function(self._tag, input_signature=[
        tf.TensorSpec([None, None], tf.string, name="tokens"),
        tf.TensorSpec([None], tf.int32, name="lengths")])

  def _tag(self, tokens, lengths):
    ids = self.table.lookup(tokens)                                       # [B, T]
    real = tf.sequence_mask(lengths, tf.shape(tokens)[1])
    scores = tf.cast(ids, tf.float32)[:, :, None] * self.scale             # [B, T, 3]
    return {"zeta": tf.where(real, ids, -1), "alpha": tf.reduce_sum(scores, [1, 2]),
            "mid": tf.strings.reduce_join(tokens, axis=1, separator="|")}


class FlatCallTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.module = _Module()
    self.inputs = {"tokens": tf.constant([["a", "ccc", "x"], ["bb", "", ""]]),
                   "lengths": tf.constant([3, 1])}

  def _assert_same(self, fn):
    flat = FlatCall(fn)
    self.assertTrue(flat.fast)
    want, got = fn(**self.inputs), flat(**self.inputs)
    self.assertEqual(sorted(want), sorted(got))
    for key in want:
      self.assertAllEqual(got[key], want[key])
    self.assertAllEqual(got["zeta"], [[1, 3, 0], [2, -1, -1]])

  def test_in_process_concrete_function(self):
    self._assert_same(self.module.tag.get_concrete_function())

  def test_loaded_signature(self):
    path = os.path.join(self.get_temp_dir(), "model")
    tf.saved_model.save(self.module, path,
                        signatures={"serving_default": self.module.tag.get_concrete_function()})
    loaded = tf.saved_model.load(path)
    self._assert_same(loaded.signatures["serving_default"])
    # The captured handles are resolved once: a variable assigned later is still read.
    loaded.scale.assign([[1.0, 1.0, 1.0]])
    flat = FlatCall(loaded.signatures["serving_default"])
    self.assertAllClose(flat(**self.inputs)["alpha"], [12.0, 6.0])

  def test_errors_name_the_input(self):
    flat = FlatCall(self.module.tag.get_concrete_function())
    with self.assertRaisesRegex(TypeError, r"input 'lengths': expected a int32 tensor of rank 1"):
      flat(tokens=self.inputs["tokens"], lengths=tf.constant([3, 1], tf.int64))
    with self.assertRaisesRegex(TypeError, r"input 'lengths': expected a int32 tensor"):
      flat(tokens=self.inputs["tokens"], lengths=[3, 1])
    with self.assertRaisesRegex(TypeError, r"expected inputs \['tokens', 'lengths'\]"):
      flat(tokens=self.inputs["tokens"])

  def test_without_a_flat_path_it_is_the_keyword_call(self):
    calls = []

    def fn(**inputs):
      calls.append(sorted(inputs))
      return {"n": tf.size(inputs["tokens"])}

    flat = FlatCall(fn)
    self.assertFalse(flat.fast)
    self.assertEqual(int(flat(**self.inputs)["n"]), 6)
    self.assertEqual(calls, [["lengths", "tokens"]])
    self.assertEqual(np.int32, flat(**self.inputs)["n"].numpy().dtype)


if __name__ == "__main__":
  tf.test.main()
