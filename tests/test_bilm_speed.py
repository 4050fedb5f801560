"""Side-by-side BiLM settings (`experiments/bilm_speed.py`): interleaving the settings' steps
changes only when they run, not what they train."""
import os
import tempfile

import tensorflow as tf

from tf_bilm_ner.config import EncoderConfig
from tf_bilm_ner.data.lm_vocab import build_lm_vocabularies
from tests import helpers
from tf_bilm_ner.experiments import bilm_speed

WORDS = ("the cell line expressed p53 and IL-2 in mice ; mutations of BRCA1 cause "
         "breast cancer .").split()


class BiLMSpeedTest(tf.test.TestCase):

  def test_interleaved_trains_what_sequential_trains(self):
    with tempfile.TemporaryDirectory() as tmp:
      paths = []
      for name, count in (("train", 120), ("valid", 9)):
        path = os.path.join(tmp, f"{name}-00000-of-00001.txt")
        with open(path, "w", encoding="utf-8") as f:
          for i in range(count):
            f.write(" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(3 + i % 9)) + "\n")
        paths.append(path)
      words, chars = build_lm_vocabularies(paths[:1], max_words=100)
      settings = ["float32:adam:7:64", "float32:lazy_adam:3:64:unique:hoisted"]
      kwargs = dict(steps=5, warmup_steps=2, encoder=EncoderConfig(
          word_dim=6, char_dim=3, char_filters=5, lstm_units=7, dropout=0.1, word_dropout=0.0))
      sequential = bilm_speed.bilm_settings(paths[0], paths[1], words, chars, settings,
                                            **kwargs)
      interleaved = bilm_speed.bilm_settings(paths[0], paths[1], words, chars, settings,
                                             interleave_steps=2, **kwargs)
    for seq, inter in zip(sequential, interleaved):
      self.assertEqual((seq["steps"], seq["timed_steps"]), (5, 3))
      self.assertEqual((inter["steps"], inter["timed_steps"]), (5, 3))
      self.assertGreater(inter["train_tokens_per_sec"], 0)
      for key in ("valid_perplexity_forward", "valid_perplexity_backward",
                  "final_sampled_loss_forward"):
        self.assertAllClose(inter[key], seq[key], rtol=1e-6)
    self.assertTrue(interleaved[1]["hoisted_lstm"] and interleaved[1]["unique_chars"])
    # Both settings learn something different from each other (the test can fail).
    self.assertNotAlmostEqual(sequential[0]["valid_perplexity_forward"],
                              sequential[1]["valid_perplexity_forward"], places=3)

  def test_steps_must_exceed_the_warmup(self):
    with self.assertRaisesRegex(ValueError, "must exceed warmup_steps"):
      bilm_speed.bilm_settings("x", "y", None, None, ["float32:adam:7:64"], steps=3,
                               warmup_steps=3)
    with self.assertRaisesRegex(ValueError, "interleave_steps must be >= 0"):
      bilm_speed.bilm_settings("x", "y", None, None, ["float32:adam:7:64"], steps=5,
                               warmup_steps=2, interleave_steps=-1)

  def test_binary_rejects_bad_step_counts_in_one_line(self):
    for flag in ("--steps=10", "--interleave_steps=-1"):
      proc = helpers.run_tool("benchmark_bilm.py", "--bilm_dir=x", "--train_shards=x",
                              "--valid_shards=y", "--settings=float32:adam:7:64", flag)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn("steps", proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
