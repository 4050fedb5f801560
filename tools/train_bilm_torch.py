"""Pretrains the BiLM in PyTorch on a GPU (or the CPU), from a packed corpus.

For a GPU machine without TensorFlow 2.15 (tf_bilm_ner/torch_port/__init__.py says why).
Needs only torch, numpy and absl-py; run it from the repository root with PYTHONPATH=.:

  python tools/pack_lm_corpus.py --shards_dir=runs/corpus/cased52m_v2 \
      --vocab_dir=checkpoints/biomed52m_u384_3epoch/vocab --output=runs/packed/cased52m.npz.xz
  PYTHONPATH=. python tools/train_bilm_torch.py --packed=runs/packed/cased52m.npz.xz \
      --out_dir=runs/bilm_torch/u512 --lstm_units=512 --time_budget_secs=3600
  python tools/import_bilm_weights.py --weights=runs/bilm_torch/u512 \
      --vocab_dir=checkpoints/biomed52m_u384_3epoch/vocab --output_dir=runs/bilm/u512_package

--out_dir gets report.json (settings, sizes, per-evaluation history with validation
perplexity, tokens/s, device) and weights.json naming the weights-*.npz parts (encoder in Keras
names, float16 by default, with reference states for the importer's check), rewritten at every
evaluation.
With --checkpoint_path, a rerun of the same command resumes from it.
"""
from tf_bilm_ner import cli  # first, as in every binary (imports no TensorFlow)

import hashlib
import json
import os
import time

from absl import app, flags, logging

from tf_bilm_ner import provenance
from tf_bilm_ner.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("packed", None, "A corpus packed by tools/pack_lm_corpus.py.")
flags.DEFINE_string("out_dir", None, "Directory for report.json and the weight files.")
flags.DEFINE_string("checkpoint_path", "", "Torch checkpoint to write, and to resume from.")
flags.DEFINE_integer("word_dim", 100, "Word embedding size.")
flags.DEFINE_integer("char_dim", 32, "Character embedding size.")
flags.DEFINE_integer("char_filters", 64, "CharCNN filters.")
flags.DEFINE_integer("char_kernel_size", 3, "CharCNN kernel width (odd).")
flags.DEFINE_integer("lstm_units", 512, "LSTM units per direction.")
flags.DEFINE_float("dropout", 0.1, "Dropout on the LSTM inputs and outputs.")
flags.DEFINE_integer("batch_tokens", 16384, "Padded tokens per batch.")
flags.DEFINE_float("learning_rate", 2e-3, "Peak learning rate (Adam).")
flags.DEFINE_integer("warmup_steps", 200, "Linear warm-up steps.")
flags.DEFINE_integer("max_epochs", 1000, "Passes over the training split at most.")
flags.DEFINE_float("time_budget_secs", 0, "Stop after this many seconds of training, the "
                   "learning rate decaying linearly to zero over them; 0: no budget.")
flags.DEFINE_float("eval_every_secs", 120, "Seconds between validations (and exports).")
flags.DEFINE_integer("seed", 1, "Initialisation and batch order.")
flags.DEFINE_bool("low_precision", True, "Softmax logits in bfloat16 on a GPU.")
flags.DEFINE_integer("num_sampled", 8192, "Negatives of training's sampled softmax (log-uniform "
                     "over the frequency-ordered vocabulary); 0: the full softmax.")
flags.DEFINE_integer("max_file_mb", 15, "Largest exported weight file, MiB.")


def _configs(arrays):
  """-> (model.Sizes, pretrain.Settings) from the flags and the packed vocabulary sizes."""
  from tf_bilm_ner.torch_port import model, pretrain  # pylint: disable=g-import-not-at-top
  sizes = model.Sizes(word_vocab_size=int(arrays["word_vocab_size"]),
                      char_vocab_size=int(arrays["char_vocab_size"]), **{
      k: getattr(FLAGS, k) for k in ("word_dim", "char_dim", "char_filters",
                                     "char_kernel_size", "lstm_units", "dropout")})
  settings = pretrain.Settings(**{k: getattr(FLAGS, k) for k in (
      "batch_tokens", "learning_rate", "warmup_steps", "max_epochs", "time_budget_secs",
      "eval_every_secs", "seed", "low_precision", "num_sampled")},
      max_bytes=FLAGS.max_file_mb << 20)
  return sizes, settings


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  import numpy as np  # pylint: disable=g-import-not-at-top
  from tf_bilm_ner.data import packed_corpus  # pylint: disable=g-import-not-at-top
  started = time.time()
  arrays = packed_corpus.load(FLAGS.packed)  # a bad file is reported before torch is needed
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UserError("PyTorch is not installed: pip install torch (or .[torch])") from None
  from tf_bilm_ner.torch_port import pretrain  # pylint: disable=g-import-not-at-top
  with open(FLAGS.packed, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()[:16]
  sizes, settings = _configs(arrays)
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  torch.backends.cuda.matmul.allow_tf32 = True
  torch.backends.cudnn.allow_tf32 = True
  # Where the GPU runs from a copy of the tree without git, the caller passes GIT_COMMIT.
  about = {"command": provenance.command(), "packed": {FLAGS.packed: digest},
           "git_commit": os.environ.get("GIT_COMMIT") or provenance.git_commit(),
           "load_secs": round(time.time() - started, 1), "numpy": np.__version__,
           "machine": provenance.machine(),
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
  trainer = pretrain.Trainer(arrays, sizes, settings, FLAGS.out_dir, device,
                             FLAGS.checkpoint_path, log=logging.info, about=about)
  report = trainer.run()
  logging.info("done: %s", json.dumps({k: report[k] for k in (
      "steps", "tokens_seen", "elapsed_secs", "tokens_per_sec", "epochs_seen")}))


def run():
  flags.mark_flags_as_required(["packed", "out_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
