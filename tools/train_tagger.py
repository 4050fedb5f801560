"""Trains a char-CNN + BiLSTM + CRF tagger on CoNLL/IOB2 files.

With no data flags it trains on the embedded NCBI-disease corpus:

  python tools/train_tagger.py --run_dir=runs/ncbi

Afterwards the best checkpoint (devel F1) is scored on devel and, if given,
test; predictions and scores go to <run_dir>/eval/.

The final-model protocol of BioBERT and much earlier BioNLP work: choose the number of
epochs on devel with a train-only run, then train on train + devel for that many epochs
and score test (tools/run_train_devel.sh does both steps from stored results):

  python tools/train_tagger.py --run_dir=runs/ncbi_final --train_on_devel --max_epochs=21
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags, logging

from tf_bilm_ner.config import PRECISIONS, EncoderConfig, TaggerConfig, TrainConfig
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.training import fine_tuning
from tf_bilm_ner.transfer import surgery

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Output directory: checkpoints, vocabularies, configs, "
                    "TensorBoard, history. Rerunning with the same flags resumes.")
flags.DEFINE_string("data_dir", NCBI_DISEASE_DIR, "Directory with train.tsv, devel.tsv and "
                    "(optionally) test.tsv. Default: the embedded NCBI-disease corpus.")
flags.DEFINE_string("train", None, "Training file; overrides <data_dir>/train.tsv.")
flags.DEFINE_string("devel", None, "Devel file for early stopping; overrides <data_dir>/devel.tsv.")
flags.DEFINE_string("test", None, "Test file scored once after training; overrides "
                    "<data_dir>/test.tsv. Use --notest_eval to skip.")
flags.DEFINE_string("entity_type", DEFAULT_ENTITY_TYPE, "The entity type of untyped B/I/O "
                    "tags (BioBERT's files); typed files keep their own types.")
flags.DEFINE_bool("test_eval", True, "Score the best checkpoint on the test file after training.")
flags.DEFINE_bool("overwrite", False, "Replace a run with a different config in --run_dir.")
flags.DEFINE_string("tagger_config", None, "TaggerConfig JSON; the size flags below are then "
                    "ignored.")
e, t = EncoderConfig(), TrainConfig()
flags.DEFINE_integer("word_dim", e.word_dim, "Word embedding size.")
flags.DEFINE_integer("char_dim", e.char_dim, "Character embedding size.")
flags.DEFINE_integer("char_filters", e.char_filters, "CharCNN filters (features per token).")
flags.DEFINE_integer("lstm_units", e.lstm_units, "LSTM units per direction.")
flags.DEFINE_float("dropout", e.dropout, "Dropout on encoder input and output.")
flags.DEFINE_float("word_dropout", e.word_dropout, "Training: probability of replacing a word "
                   "id by <unk>.")
flags.DEFINE_integer("seed", t.seed, "Random seed: initialisation, shuffling, subsets.")
flags.DEFINE_float("train_fraction", t.train_fraction, "Use this deterministic fraction of "
                   "train sentences (learning curves).")
flags.DEFINE_integer("max_epochs", t.max_epochs, "Maximum epochs (with --train_on_devel: "
                     "exactly this many, and it must be given).")
flags.DEFINE_bool("train_on_devel", t.train_on_devel, "Train on train + devel for exactly "
                  "--max_epochs epochs (chosen on devel by a train-only run), without early "
                  "stopping; devel is not scored. For final test figures.")
flags.DEFINE_integer("patience", t.patience, "Stop after this many epochs without devel gain.")
flags.DEFINE_integer("batch_tokens", t.batch_tokens, "Token budget per batch.")
flags.DEFINE_float("learning_rate", t.learning_rate, "Adam learning rate.")
flags.DEFINE_float("lr_decay", t.lr_decay, "Epoch e uses learning_rate / (1 + lr_decay * e).")
flags.DEFINE_float("encoder_lr_scale", None, "The encoder (embeddings, CharCNN, LSTMs) learns at "
                   "learning_rate times this. Default: "
                   f"{fine_tuning.default_encoder_lr_scale(True)} with --init_from_bilm (chosen on "
                   "NCBI-disease devel, results/README.md), else 1.")
flags.DEFINE_integer("encoder_frozen_epochs", t.encoder_frozen_epochs, "The encoder keeps its "
                     "initial weights for this many epochs while the layers above it learn, "
                     "then learns at --encoder_lr_scale (gradual unfreezing).")
flags.DEFINE_bool("freeze_word_embeddings", t.freeze_word_embeddings, "With --init_from_bilm: "
                  "the word vectors keep the BiLM's values, so words met only after training stay "
                  "in the same space as train's words.")
flags.DEFINE_float("clip_norm", t.clip_norm, "Global gradient norm clip.")
flags.DEFINE_enum("tag_scheme", t.tag_scheme, list(tag_scheme.SCHEMES), "Tags the CRF is "
                  "trained on: iob2 as in the files, or iobes (also marks entity ends and "
                  "single-token entities). Input and output are IOB2 either way.")
flags.DEFINE_bool("bilm_features", False, "With --init_from_bilm: also feed a frozen copy of "
                  "the BiLM's forward and backward states to the tagger (TagLM/ELMo style), "
                  "beside the fine-tuned encoder initialised from it.")
flags.DEFINE_integer("top_lstm_units", 0, "> 0: a BiLSTM of this size per direction over the "
                     "encoder (and --bilm_features) states, before the tag projection.")
flags.DEFINE_enum("precision", t.precision, list(PRECISIONS), "float32, or mixed_bfloat16 "
                  "(bfloat16 compute, float32 variables and CRF; faster only where bfloat16 "
                  "matmuls are: GPUs, AVX512_BF16/AMX CPUs).")
flags.DEFINE_bool("hoisted_lstm", t.hoisted_lstm, "Train the LSTMs with their input "
                  "projections out of the time loop and a hand-written gradient "
                  "(layers/hoisted.py): the same sums within float32 rounding, about 1.2-1.5x "
                  "the model-only training tokens/s on CPU (results/README.md). Off by "
                  "default so that the stored tables rerun exactly.")
flags.DEFINE_string("init_from_bilm", None, "Initialise the encoder from this pretrained BiLM "
                    "(a train_bilm run dir, a checkpoint prefix in its ckpt/, or the name of a "
                    "BiLM shipped in checkpoints/, e.g. biomed5m_10epoch). The size "
                    "flags then default to the BiLM's; the word and character vocabularies "
                    "are extended with the BiLM's.")
flags.DEFINE_float("checkpoint_every_secs", 300, "Mid-epoch checkpoint interval.")
del e, t


SIZE_FLAGS = ("word_dim", "char_dim", "char_filters", "lstm_units", "dropout", "word_dropout")


def _validate_flag_combinations():
  if FLAGS.tagger_config:
    given = [f"--{n}" for n in SIZE_FLAGS if FLAGS[n].present]
    if given:
      raise app.UsageError(f"--tagger_config sets the model sizes; do not also pass {given}")
  if FLAGS.test and not FLAGS.test_eval:
    raise app.UsageError("--test was given together with --notest_eval")
  if FLAGS.train_on_devel and not FLAGS["max_epochs"].present:
    raise app.UsageError("--train_on_devel trains for exactly --max_epochs epochs: give it "
                         "(the epochs chosen on devel by a train-only run)")


def _paths():
  pick = lambda flag, name: flag or os.path.join(FLAGS.data_dir, name)
  paths = {"train": pick(FLAGS.train, "train.tsv"), "devel": pick(FLAGS.devel, "devel.tsv"),
           "test": pick(FLAGS.test, "test.tsv") if FLAGS.test_eval else None}
  if paths["test"] and not FLAGS.test and not os.path.exists(paths["test"]):
    paths["test"] = None
  for name, path in paths.items():
    if path and not os.path.isfile(path):
      raise app.UsageError(f"--{name}: file not found: {path}")
  return paths


def _configs():
  """TrainConfig and TaggerConfig from the flags (sizes from the BiLM unless given)."""
  bilm_path = surgery.resolve(FLAGS.init_from_bilm) if FLAGS.init_from_bilm else None
  scale = FLAGS.encoder_lr_scale
  train_config = TrainConfig(
      learning_rate=FLAGS.learning_rate, lr_decay=FLAGS.lr_decay, clip_norm=FLAGS.clip_norm,
      batch_tokens=FLAGS.batch_tokens, max_epochs=FLAGS.max_epochs, patience=FLAGS.patience,
      seed=FLAGS.seed, train_fraction=FLAGS.train_fraction, tag_scheme=FLAGS.tag_scheme,
      precision=FLAGS.precision, train_on_devel=FLAGS.train_on_devel,
      hoisted_lstm=FLAGS.hoisted_lstm, encoder_frozen_epochs=FLAGS.encoder_frozen_epochs,
      freeze_word_embeddings=FLAGS.freeze_word_embeddings,
      encoder_lr_scale=scale if scale is not None else
      fine_tuning.default_encoder_lr_scale(bool(bilm_path)),
      init_from_bilm=os.path.abspath(bilm_path) if bilm_path else "")
  train_config.validate()
  if FLAGS.tagger_config:
    return train_config, TaggerConfig.load(FLAGS.tagger_config)
  encoder = EncoderConfig(**{n: FLAGS[n].value for n in SIZE_FLAGS})
  if bilm_path:  # the BiLM's sizes, unless a size flag is given
    encoder = surgery.sizes_from_bilm(encoder, surgery.load_source(bilm_path).config.encoder,
                                      keep=[n for n in SIZE_FLAGS if FLAGS[n].present])
  encoder.validate()
  return train_config, TaggerConfig(encoder=encoder, bilm_features=FLAGS.bilm_features,
                                    top_lstm_units=FLAGS.top_lstm_units)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  _validate_flag_combinations()
  paths = _paths()
  train_config, tagger_config = _configs()
  report = fine_tuning.fine_tune(paths, FLAGS.run_dir, tagger_config, train_config,
                                 overwrite=FLAGS.overwrite,
                                 checkpoint_every_secs=FLAGS.checkpoint_every_secs,
                                 started=started, entity_type=FLAGS.entity_type)
  scores = [f"{split} F1 {report[split]['micro']['f1']:.2f}" for split in ("devel", "test")
            if split in report]
  logging.info("%s epoch %d; %s; scores in %s",
               "last" if report.get("train_on_devel") else "best", report["best_epoch"],
               "; ".join(scores) or "not scored",
               os.path.join(FLAGS.run_dir, "eval", "scores.json"))


def run():
  flags.mark_flag_as_required("run_dir")
  cli.run(main)


if __name__ == "__main__":
  run()
