"""CRF against brute force over every tag sequence (tiny sizes)."""
import itertools

import numpy as np
import tensorflow as tf

from tf_bilm_ner.layers.crf import CRF


def _score(unary, trans, tags):
  s = sum(unary[t, y] for t, y in enumerate(tags))
  return s + sum(trans[a, b] for a, b in zip(tags[:-1], tags[1:]))


class CRFTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.RandomState(7)
    self.num_tags, self.max_len = 3, 5
    self.lengths = np.array([5, 1, 3, 4], np.int32)
    self.unary = rng.randn(4, self.max_len, self.num_tags).astype(np.float32)
    self.crf = CRF(self.num_tags)
    self.crf.build(self.unary.shape)
    self.trans = rng.randn(self.num_tags, self.num_tags).astype(np.float32)
    self.crf.transitions.assign(self.trans)

  def test_log_likelihood_and_log_norm(self):
    rng = np.random.RandomState(3)
    tags = rng.randint(0, self.num_tags, size=(4, self.max_len)).astype(np.int32)
    ll = self.crf.log_likelihood(self.unary, tags, self.lengths).numpy()
    log_z = self.crf.log_norm(self.unary, self.lengths).numpy()
    for b, n in enumerate(self.lengths):
      scores = [_score(self.unary[b], self.trans, seq)
                for seq in itertools.product(range(self.num_tags), repeat=int(n))]
      want_z = np.logaddexp.reduce(scores)
      self.assertAllClose(log_z[b], want_z, rtol=1e-5)
      self.assertAllClose(ll[b], _score(self.unary[b], self.trans, tags[b, :n]) - want_z,
                          rtol=1e-5, atol=1e-5)

  def test_viterbi(self):
    decoded, best = self.crf(self.unary, self.lengths)
    for b, n in enumerate(self.lengths):
      seqs = list(itertools.product(range(self.num_tags), repeat=int(n)))
      scores = [_score(self.unary[b], self.trans, s) for s in seqs]
      self.assertAllEqual(decoded[b, :n], seqs[int(np.argmax(scores))])
      self.assertAllClose(best[b], max(scores), rtol=1e-5)

  def test_owns_exactly_one_variable(self):
    self.crf(self.unary, self.lengths)
    self.crf.log_likelihood(self.unary, np.zeros((4, 5), np.int32), self.lengths)
    self.assertEqual([v.name for v in self.crf.trainable_variables], ["transitions:0"])


if __name__ == "__main__":
  tf.test.main()
