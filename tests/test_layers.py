"""CharCNN, Encoder, CRF, Tagger, BiLM: shapes, masking, directions, checkpoint keys, Keras config."""
import numpy as np
import tensorflow as tf

from tf_bilm_ner.config import BiLMConfig, EncoderConfig, TaggerConfig
from tf_bilm_ner.layers.char_cnn import CharCNN
from tf_bilm_ner.layers.crf import CRF
from tf_bilm_ner.layers.encoder import Encoder
from tf_bilm_ner.models.bilm import BiLM
from tf_bilm_ner.models.tagger import Tagger

ENC = EncoderConfig(word_vocab_size=99, char_vocab_size=37, word_dim=11, char_dim=5,
                    char_filters=7, char_kernel_size=3, lstm_units=13, dropout=0.3)


def _features(rng, lengths, chars=6):
  b, t = len(lengths), max(lengths)
  token_ids = np.zeros((b, t), np.int32)
  char_ids = np.zeros((b, t, chars), np.int32)
  for i, n in enumerate(lengths):
    token_ids[i, :n] = rng.randint(2, 99, n)
    for j in range(n):
      k = rng.randint(1, chars + 1)
      char_ids[i, j, :k] = rng.randint(2, 37, k)
  return {"token_ids": tf.constant(token_ids), "char_ids": tf.constant(char_ids),
          "lengths": tf.constant(lengths, tf.int32)}


class CharCNNTest(tf.test.TestCase):

  def test_masked_max_pool_matches_numpy(self):
    rng = np.random.RandomState(1)
    layer = CharCNN(37, 5, 7, 3)
    ids = np.array([[[3, 4, 0, 0], [0, 0, 0, 0]], [[5, 6, 7, 8], [9, 0, 0, 0]]], np.int32)
    out = layer(ids).numpy()
    self.assertEqual(out.shape, (2, 2, 7))
    emb = layer.embedding.embeddings.numpy()
    kernel, bias = [w.numpy() for w in layer.conv.weights]
    for b in range(2):
      for t in range(2):
        x = np.pad(emb[ids[b, t]], [(1, 1), (0, 0)])          # 'same' padding, kernel 3
        conv = np.tanh(np.stack([np.einsum("ke,kef->f", x[i:i + 3], kernel) + bias
                                 for i in range(4)]))
        n = int((ids[b, t] > 0).sum())
        want = conv[:n].max(axis=0) if n else np.zeros(7)
        self.assertAllClose(out[b, t], want, atol=1e-5)
    del rng

  def test_unique_rows_same_values_and_gradients(self):
    """`unique` (each distinct character row once, gathered back) against the plain layer:
    a batch with repeated tokens, padding tokens and a token of no characters."""
    rng = np.random.RandomState(3)
    words = rng.randint(1, 37, size=(4, 5)) * (np.arange(5) < np.array([[2], [5], [1], [3]]))
    pick = rng.randint(0, 4, size=(3, 7))                       # tokens repeat across the batch
    ids = tf.constant(np.concatenate([words[pick], np.zeros((3, 2, 5), np.int64)], 1), tf.int32)
    layer = CharCNN(37, 5, 7, 3)
    weights = rng.normal(size=(3, 9, 7)).astype(np.float32)
    results = []
    for unique in (False, True):
      with tf.GradientTape() as tape:
        out = layer(ids, unique=unique)
        loss = tf.reduce_sum(out * weights)
      grads = tape.gradient(loss, layer.trainable_variables)
      results.append((out.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]))
    (out, grads), (out_u, grads_u) = results
    self.assertAllClose(out_u, out, atol=1e-6)
    self.assertAllClose(out[:, 7:], np.zeros((3, 2, 7)))          # padding tokens: zeros
    for g, g_u in zip(grads, grads_u):
      self.assertAllClose(g_u, g, atol=1e-5)


class EncoderTest(tf.test.TestCase):

  def test_directions_and_padding_independence(self):
    rng = np.random.RandomState(2)
    enc = Encoder(ENC)
    feats = _features(rng, [5, 2, 3])
    fwd, bwd = enc(feats, training=False)
    self.assertEqual(fwd.shape, (3, 5, 13))
    self.assertEqual(bwd.shape, (3, 5, 13))
    # Each sentence alone, unpadded, gives the same states at real positions.
    for i, n in enumerate([5, 2, 3]):
      one = {"token_ids": feats["token_ids"][i:i + 1, :n],
             "char_ids": feats["char_ids"][i:i + 1, :n],
             "lengths": feats["lengths"][i:i + 1]}
      f1, b1 = enc(one, training=False)
      self.assertAllClose(fwd[i, :n], f1[0], atol=1e-5)
      self.assertAllClose(bwd[i, :n], b1[0], atol=1e-5)
    # forward[t] ignores tokens after t; backward[t] ignores tokens before t.
    changed = dict(feats, token_ids=tf.tensor_scatter_nd_update(feats["token_ids"], [[0, 4]], [7]))
    f2, b2 = enc(changed, training=False)
    self.assertAllClose(fwd[0, :4], f2[0, :4], atol=1e-6)
    self.assertNotAllClose(bwd[0, :4], b2[0, :4])
    changed = dict(feats, token_ids=tf.tensor_scatter_nd_update(feats["token_ids"], [[0, 0]], [7]))
    f3, b3 = enc(changed, training=False)
    self.assertAllClose(bwd[0, 1:], b3[0, 1:], atol=1e-6)
    self.assertNotAllClose(fwd[0, 1:], f3[0, 1:])


class TaggerTest(tf.test.TestCase):

  def test_checkpoint_keys_are_pinned(self):
    tagger = Tagger(TaggerConfig(encoder=ENC, num_tags=5))
    tagger.decode(_features(np.random.RandomState(0), [3, 1]))
    path = tf.train.Checkpoint(model=tagger).write(self.get_temp_dir() + "/ckpt")
    keys = sorted(k for k, _ in tf.train.list_variables(path)
                  if k.startswith("model/") and "OPTIMIZER" not in k)
    self.assertEqual(keys, [
        "model/crf/transitions/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/backward_lstm/cell/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/backward_lstm/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/backward_lstm/cell/recurrent_kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/char_cnn/conv/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/char_cnn/conv/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/char_cnn/embedding/embeddings/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/forward_lstm/cell/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/forward_lstm/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/forward_lstm/cell/recurrent_kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/encoder/word_embedding/embeddings/.ATTRIBUTES/VARIABLE_VALUE",
        "model/projection/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/projection/kernel/.ATTRIBUTES/VARIABLE_VALUE",
    ])

  def test_one_training_step_lowers_the_loss(self):
    tf.keras.utils.set_random_seed(4)
    tagger = Tagger(TaggerConfig(encoder=ENC, num_tags=5))
    feats = _features(np.random.RandomState(3), [4, 2])
    feats["tag_ids"] = tf.constant([[1, 2, 0, 3], [4, 0, 0, 0]], tf.int32)
    opt = tf.keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(3):
      with tf.GradientTape() as tape:
        loss = tagger.nll(feats, training=False)
      losses.append(float(loss))
      opt.apply_gradients(zip(tape.gradient(loss, tagger.trainable_variables),
                              tagger.trainable_variables))
    self.assertLess(losses[-1], losses[0])
    self.assertLen(tagger.trainable_variables, 13)


if __name__ == "__main__":
  tf.test.main()


class KerasConfigRoundTripTest(tf.test.TestCase):
  """get_config -> from_config rebuilds every layer and model: same config, and with the
  weights copied over, the same outputs."""

  def _round_trip(self, obj, call):
    call(obj)
    clone = type(obj).from_config(obj.get_config())
    self.assertEqual(clone.get_config(), obj.get_config())
    call(clone)  # creates the clone's variables
    self.assertEqual([v.shape for v in clone.weights], [v.shape for v in obj.weights])
    clone.set_weights(obj.get_weights())
    for a, b in zip(tf.nest.flatten(call(obj)), tf.nest.flatten(call(clone))):
      self.assertAllClose(a, b)

  def test_layers(self):
    feats = _features(np.random.RandomState(1), [4, 2, 3])
    cnn = CharCNN(37, 5, 7, 3, name="cnn")
    self._round_trip(cnn, lambda m: m(feats["char_ids"]))
    enc = Encoder(ENC, name="enc")
    self._round_trip(enc, lambda m: m(feats, training=False))
    crf = CRF(5, name="crf")
    potentials = tf.random.stateless_normal([3, 4, 5], seed=[1, 2])
    self._round_trip(crf, lambda m: m(potentials, feats["lengths"])[1])

  def test_models(self):
    feats = _features(np.random.RandomState(2), [3, 5])
    tagger = Tagger(TaggerConfig(encoder=ENC, num_tags=5, top_lstm_units=3), name="t")
    self._round_trip(tagger, lambda m: m(feats, training=False))
    bilm = BiLM(BiLMConfig(encoder=ENC, num_sampled=7), name="b")
    targets = dict(feats, forward_targets=feats["token_ids"], backward_targets=feats["token_ids"])
    self._round_trip(bilm, lambda m: m.full_nll(targets))

  def test_no_attribute_shadows_keras(self):
    compiled = tf.keras.Sequential()  # compile() sets instance attributes such as `loss`
    compiled.compile(optimizer="sgd", loss="mse")
    for cls, base in ((Tagger, compiled), (BiLM, compiled),
                      (Encoder, tf.keras.layers.Layer), (CharCNN, tf.keras.layers.Layer),
                      (CRF, tf.keras.layers.Layer)):
      own = set(vars(cls)) - {"__init__", "__module__", "__doc__", "call", "build",
                              "get_config", "from_config", "__qualname__"}
      self.assertEmpty(own & set(dir(base)), cls.__name__)
