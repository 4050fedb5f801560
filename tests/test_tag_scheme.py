"""IOBES training: tag conversion, and a tagger trained on IOBES that speaks IOB2."""
import json
import os
import random

import tensorflow as tf

from tests.helpers import TESTDATA
from tf_bilm_ner import metrics
from tf_bilm_ner.config import EncoderConfig, TaggerConfig, TrainConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.data.vocab import Vocabulary
from tf_bilm_ner.evaluation import evaluate_file
from tf_bilm_ner.training import tagger_loop


def _iobes_chunks(tags):
  """Entities of a valid IOBES sequence, read directly (an independent reference); None if
  the sequence is not valid IOBES."""
  out, start = [], None
  for i, tag in enumerate(tags):
    prefix, typ = tag[0], tag[2:]
    if start is None:
      if prefix == "S":
        out.append((typ, i, i + 1))
      elif prefix == "B":
        start, ctype = i, typ
      elif prefix != "O":
        return None
    else:
      if prefix not in "IE" or typ != ctype:
        return None
      if prefix == "E":
        out.append((typ, start, i + 1))
        start = None
  return out if start is None else None


class EncodeTest(tf.test.TestCase):

  def test_examples(self):
    iob2 = ["B-A", "I-A", "O", "B-A", "B-B", "I-B", "I-B", "O", "B-A", "I-A", "I-A"]
    self.assertEqual(tag_scheme.encode(iob2, "iobes"),
                     ["B-A", "E-A", "O", "S-A", "B-B", "I-B", "E-B", "O", "B-A", "I-A", "E-A"])
    self.assertEqual(tag_scheme.encode(iob2, "iob2"), iob2)
    # conlleval's reading of a bad I-X: it starts an entity.
    self.assertEqual(tag_scheme.encode(["I-A", "I-B", "I-B", "O"], "iobes"),
                     ["S-A", "B-B", "E-B", "O"])
    self.assertEqual(tag_scheme.encode([], "iobes"), [])
    with self.assertRaisesRegex(ValueError, "unknown tag scheme 'bilou'"):
      tag_scheme.encode(["O"], "bilou")

  def test_random_sequences_keep_their_entities_and_map_back(self):
    rng = random.Random(7)
    alphabet = ["O", "B-A", "I-A", "B-B", "I-B"]
    for _ in range(2000):
      tags = [rng.choice(alphabet) for _ in range(rng.randint(0, 9))]
      iobes = tag_scheme.encode(tags, "iobes")
      self.assertEqual(_iobes_chunks(iobes), metrics.chunks(tags), msg=tags)
      back = [tag_scheme.to_iob2(t) for t in iobes]
      self.assertEqual(metrics.chunks(back), metrics.chunks(tags), msg=tags)
      self.assertEqual(tag_scheme.encode(back, "iob2"), back)  # valid IOB2
      self.assertEqual([tag_scheme.to_iob2(t) for t in back], back)  # identity on IOB2

  def test_iob2_tag_set(self):
    self.assertEqual(tag_scheme.iob2_tag_set(["O", "S-A", "B-A", "E-A", "I-A", "S-B"]),
                     ["B-A", "B-B", "I-A", "O"])


class TrainIobesTest(tf.test.TestCase):

  def test_trains_on_iobes_and_predicts_iob2(self):
    train = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))
    run_dir = os.path.join(self.get_temp_dir(), "run")
    config = TaggerConfig(encoder=EncoderConfig(word_dim=23, char_dim=7, char_filters=19,
                                                lstm_units=29, dropout=0.1))
    train_config = TrainConfig(learning_rate=0.01, batch_tokens=397, max_epochs=5, seed=3,
                               tag_scheme="iobes")
    result = tagger_loop.train_tagger(train, train, run_dir, config, train_config)
    tags = Vocabulary.load(os.path.join(run_dir, "vocab", "tags.txt"), reserved=()).entries
    self.assertCountEqual(tags, ["O", "B-Disease", "I-Disease", "E-Disease", "S-Disease"])
    with open(os.path.join(run_dir, "train_config.json")) as f:
      self.assertEqual(json.load(f)["tag_scheme"], "iobes")
    predictions = os.path.join(self.get_temp_dir(), "pred.conll")
    scores = evaluate_file(run_dir, os.path.join(TESTDATA, "ncbi_train_head.tsv"), predictions)
    # Scored in IOB2 against the IOB2 file: the best epoch's devel F1 is this score.
    self.assertAllClose(scores["micro"]["f1"], result.best_devel_f1)
    self.assertGreater(scores["micro"]["f1"], 60.0)  # it fits what it saw (83 when written)
    with open(predictions, encoding="utf-8") as f:
      predicted = {line.split("\t")[2] for line in f.read().splitlines() if line}
    self.assertEqual(predicted - {"O", "B-Disease", "I-Disease"}, set())
    self.assertIn("B-Disease", predicted)


if __name__ == "__main__":
  tf.test.main()
