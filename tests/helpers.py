"""Shared test fixtures."""
import os
import subprocess
import sys

import tensorflow as tf

from tf_bilm_ner.config import EncoderConfig, TaggerConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(tool: str, *args: str, timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
  """Runs tools/<tool> in a fresh Python process, as a user would (no TF_CPP_MIN_LOG_LEVEL);
  stdout and stderr captured as text.
  `kwargs` go to subprocess.run (e.g. preexec_fn)."""
  env = dict(os.environ, PYTHONPATH=ROOT)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the binaries quiet TensorFlow themselves (cli.py)
  return subprocess.run([sys.executable, os.path.join(ROOT, "tools", tool), *args],
                        capture_output=True, text=True, env=env, timeout=timeout, **kwargs)


def make_run_dir(run_dir: str, seed: int = 5, scheme: str = "iob2", top_lstm_units: int = 0):
  """A tagger run directory with random weights (vocabularies from the NCBI fixture, tags
  in `scheme`; a top BiLSTM of `top_lstm_units` per direction if > 0).

  Random weights predict every tag somewhere, which exercises decoding and
  span code better than a trained model's mostly-O output. Returns (tagger, vocabs).
  """
  train = read_conll(os.path.join(TESTDATA, "ncbi_train_head.tsv"))
  vocabs = run_dir_lib.Vocabs(*vocab_lib.build_vocabularies(
      [s.tokens for s in train], [tag_scheme.encode(s.tags, scheme) for s in train]))
  config = TaggerConfig(encoder=EncoderConfig(
      word_vocab_size=len(vocabs.words), char_vocab_size=len(vocabs.chars), word_dim=11,
      char_dim=5, char_filters=7, lstm_units=13, max_chars_per_token=9),
      num_tags=len(vocabs.tags), top_lstm_units=top_lstm_units)
  tf.keras.utils.set_random_seed(seed)
  tagger = Tagger(config)
  checkpoints.build_variables(tagger)
  tagger.crf.transitions.assign(tagger.crf.transitions * 3.0)
  p = run_dir_lib.paths(run_dir)
  vocabs.save(p["vocab"])
  config.save(p["tagger_config"])
  tf.train.CheckpointManager(tf.train.Checkpoint(model=tagger), p["best"], 1).save()
  return tagger, vocabs
