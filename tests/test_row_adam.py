"""RowRestrictedAdam against tf.keras.optimizers.Adam: the same variables, bit for bit."""
import dataclasses

import numpy as np
import tensorflow as tf

from tests.test_layers import ENC
from tf_bilm_ner.config import TaggerConfig
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import row_adam
from tf_bilm_ner.training.tagger_steps import make_train_step

CONFIG = TaggerConfig(encoder=dataclasses.replace(ENC, word_dropout=0.2), num_tags=5)
REACHED = 40  # batches use word ids below this; rows 40..98 of the 99 are never reached


def _batches(steps):
  rng = np.random.RandomState(5)
  out = []
  for _ in range(steps):
    lengths = [7, 4, 6]
    ids = np.zeros((3, 7), np.int32)
    for i, n in enumerate(lengths):
      ids[i, :n] = rng.randint(2, REACHED, n)
    ids[1, 1] = ids[0, 0] = ids[2, 3]  # a row reached three times in one batch
    chars = rng.randint(2, 37, (3, 7, 4)).astype(np.int32) * (ids[:, :, None] > 0)
    tags = rng.randint(0, 5, (3, 7)).astype(np.int32) * (ids > 0)
    out.append({"token_ids": tf.constant(ids), "char_ids": tf.constant(chars),
                "lengths": tf.constant(lengths, tf.int32), "tag_ids": tf.constant(tags)})
  return out


def _train(restricted, steps=4, scale=0.5):
  """(tagger, optimiser) after `steps` train steps (with dropout, word dropout, clipping)."""
  tf.keras.utils.set_random_seed(11)
  tagger = Tagger(CONFIG)
  batches = _batches(max(steps, 1))
  tagger.build_from_features(batches[0])
  kwargs = dict(learning_rate=0.01, global_clipnorm=5.0)
  optimizer = (row_adam.RowRestrictedAdam if restricted else tf.keras.optimizers.Adam)(**kwargs)
  optimizer.build(tagger.trainable_variables)
  if restricted:
    optimizer.restrict(tagger.encoder.word_embedding.embeddings, np.arange(REACHED))
  step = make_train_step(tagger, optimizer, encoder_lr_scale=scale)
  for b in batches[:steps]:
    step(b)
  return tagger, optimizer


class RowRestrictedAdamTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.reference, cls.reference_optimizer = _train(False)
    cls.restricted, cls.optimizer = _train(True)

  def test_same_variables_and_slots_as_adam(self):
    """With the encoder learning-rate rescale, so its row-restricted path is checked too."""
    for a, b in zip(self.reference.trainable_variables, self.restricted.trainable_variables):
      self.assertEqual(a.name.split("/", 1)[1], b.name.split("/", 1)[1])  # less tagger_N/
      self.assertAllEqual(a.numpy(), b.numpy(), msg=a.name)
    for a, b in zip(self.reference_optimizer.variables, self.optimizer.variables):
      self.assertAllEqual(a.numpy(), b.numpy(), msg=a.name)

  def test_unreached_rows_keep_their_values(self):
    untrained, _ = _train(True, steps=0)  # the same initialisation
    before = untrained.encoder.word_embedding.embeddings.numpy()
    after = self.restricted.encoder.word_embedding.embeddings.numpy()
    self.assertAllEqual(after[REACHED:], before[REACHED:])
    self.assertGreater(np.abs(after[2:REACHED] - before[2:REACHED]).max(), 0)

  def test_gradient_outside_the_rows_is_an_error(self):
    table = tf.Variable(tf.ones([6, 3]))
    optimizer = row_adam.RowRestrictedAdam(0.1)
    optimizer.build([table])
    optimizer.restrict(table, [0, 1, 3])
    grad = tf.IndexedSlices(tf.ones([2, 3]), tf.constant([1, 4]), tf.constant([6, 3]))
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "outside the rows"):
      optimizer.apply_gradients([(grad, table)])
    with self.assertRaisesRegex(ValueError, "unique ids"):
      optimizer.restrict(table, [0, 6])

  def test_checkpoint_keys_unchanged(self):
    """A run checkpointed with one optimiser resumes with the other."""
    keys = []
    for name, tagger, optimizer in (("adam", self.reference, self.reference_optimizer),
                                    ("restricted", self.restricted, self.optimizer)):
      path = tf.train.Checkpoint(model=tagger, optimizer=optimizer).save(
          f"{self.get_temp_dir()}/{name}/ckpt")
      keys.append(tf.train.list_variables(path))
    self.assertEqual(keys[0], keys[1])
    tagger, optimizer = _train(True, steps=0)
    tf.train.Checkpoint(model=tagger, optimizer=optimizer).restore(path).assert_consumed()

  def test_reachable_rows_match_the_featurizer(self):
    words = vocab_lib.Vocabulary(["<pad>", "<unk>", "the", "cell", "BRCA1", "p53", "0", "of", "unused"])
    chars = vocab_lib.Vocabulary(["<pad>", "<unk>", *"abc"])
    tokens = [["The", "cell", "of", "BRCA1"], ["p53", "7", "never-seen"]]
    rows = row_adam.reachable_rows(words, tokens)
    padded = tf.constant([t + [""] * (4 - len(t)) for t in tokens])
    featurized = Featurizer(words, chars, 5)(padded)["token_ids"].numpy()
    expected = sorted(set(featurized.ravel()) | {vocab_lib.PAD_ID, vocab_lib.UNK_ID})
    self.assertAllEqual(rows, expected)
    self.assertNotIn(words.id("unused"), rows)


if __name__ == "__main__":
  tf.test.main()
