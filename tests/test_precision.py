"""mixed_bfloat16: float32 variables (checkpoints unchanged), bfloat16 compute, float32 losses."""
import numpy as np
import tensorflow as tf

from tests.test_bilm import ENC, _features
from tf_bilm_ner import provenance
from tf_bilm_ner.config import BiLMConfig, TaggerConfig
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import precision

MIXED = precision.policy("mixed_bfloat16")


def _tagger_features():
  feats = dict(_features())
  feats["tag_ids"] = tf.where(feats["token_ids"] > 0, feats["token_ids"] % 3, 0)
  return feats


class PrecisionTest(tf.test.TestCase):

  def test_unknown_precision(self):
    with self.assertRaisesRegex(ValueError, "unknown precision 'float16'"):
      precision.policy("float16")

  def test_bilm_mixed(self):
    tf.keras.utils.set_random_seed(1)
    bilm = BiLM(BiLMConfig(encoder=ENC, num_sampled=17), dtype=MIXED)
    feats = _features()
    forward, _ = bilm(feats, training=False)
    self.assertEqual(forward.dtype, tf.bfloat16)
    self.assertTrue(all(v.dtype == tf.float32 for v in bilm.trainable_variables))
    losses = bilm.sampled_loss(feats)
    nll = bilm.full_nll(feats)
    self.assertEqual(losses["forward"].dtype, tf.float32)
    self.assertEqual(nll["forward"].dtype, tf.float32)
    # The same weights in float32 give a full-softmax NLL within bfloat16's rounding.
    ref = BiLM(BiLMConfig(encoder=ENC, num_sampled=17))
    ref.full_nll(feats)
    ref.set_weights(bilm.get_weights())
    self.assertAllClose(nll["forward"], ref.full_nll(feats)["forward"], rtol=0.02)

  def test_mixed_tagger_checkpoint_restores_into_float32(self):
    feats = _tagger_features()
    mixed = Tagger(TaggerConfig(encoder=ENC, num_tags=3), dtype=MIXED)
    mixed.build_from_features(feats)
    loss = mixed.nll(feats)
    self.assertEqual(loss.dtype, tf.float32)
    self.assertEqual(mixed(feats).dtype, tf.float32)   # the CRF's input
    path = tf.train.Checkpoint(model=mixed).write(f"{self.get_temp_dir()}/mixed")
    plain = Tagger(TaggerConfig(encoder=ENC, num_tags=3))
    plain.build_from_features(feats)
    tf.train.Checkpoint(model=plain).read(path).assert_consumed()
    for a, b in zip(mixed.weights, plain.weights):
      self.assertAllEqual(a.numpy(), b.numpy())
    self.assertAllClose(plain.nll(feats), loss, rtol=0.05)
    tags_mixed, _ = mixed.decode(feats)
    tags_plain, _ = plain.decode(feats)
    self.assertGreater(np.mean(tags_mixed.numpy() == tags_plain.numpy()), 0.8)


class SlowHardwareNoteTest(tf.test.TestCase):
  """bfloat16 runs at about half the float32 speed on a CPU without bfloat16 arithmetic
  (results/README.md): training says so at start."""

  def test_warns_only_for_bfloat16_without_hardware_for_it(self):
    note = precision.slow_hardware_note
    self.assertRegex(note("mixed_bfloat16", ["avx2", "fma"], gpus=0),
                     r"without bfloat16 arithmetic .*avx512_bf16.*--precision=float32")
    self.assertIsNone(note("mixed_bfloat16", ["avx2", "avx512f", "avx512_bf16"], gpus=0))
    self.assertIsNone(note("mixed_bfloat16", ["amx_bf16"], gpus=0))
    self.assertIsNone(note("mixed_bfloat16", ["avx2"], gpus=1))
    self.assertIsNone(note("float32", ["avx2"], gpus=0))

  def test_this_machine(self):
    """On this machine, from the CPU features its provenance records (themselves tested
    against /proc/cpuinfo in tests/test_provenance.py)."""
    flags = provenance.machine()["cpu_features"]
    has = (any(f in flags for f in precision.BFLOAT16_CPU_FEATURES)
           or bool(tf.config.list_physical_devices("GPU")))
    self.assertEqual(precision.slow_hardware_note("mixed_bfloat16") is None, has)


if __name__ == "__main__":
  tf.test.main()
