"""tf_bilm_ner: biomedical NER with bidirectional language model transfer.

The layout follows the data flow (WORKSPACE.md has one line per module):
  config, errors, files, provenance   typed configs; user errors; the I/O layer; provenance
  data/          CoNLL, tag schemes, tokenizer (Python and TF ops), vocabularies, featurisation,
                 sharding and streaming of unlabeled text
  layers/        CharCNN, the shared Encoder, CRF (the only tensorflow_addons import), sampled
                 softmax
  models/        BiLM, Tagger
  training/      run directory (layout, lock, history), checkpoints, progress, optimisers,
                 the BiLM loop (bilm_loop, pretraining) and the tagger loop (tagger_loop,
                 fine_tuning)
  transfer/      BiLM -> tagger surgery, BiLM packaging, continued pretraining, tagger init
  metrics, evaluation                 entity scores; tagging and scoring sentences
  serving/       SavedModel export, one model behind one interface (annotator), raw text ->
                 spans with one or several models (text_tagger: load_tagger), tagging files
  pipeline       every stage in one call
  experiments/   results tables, plots, benchmarks (not used by the library)
Binaries live in `tools/`.
"""
__version__ = "0.1.0"
__all__ = ["load_tagger"]


def __getattr__(name):
  # `from tf_bilm_ner import load_tagger` imports TensorFlow only when asked for, and first
  # quiets its C++ start-up logs (unless TF_CPP_MIN_LOG_LEVEL is set or TensorFlow is already
  # imported), as the binaries do (cli.py).
  if name == "load_tagger":
    import sys  # pylint: disable=g-import-not-at-top
    from tf_bilm_ner import cli  # pylint: disable=g-import-not-at-top
    if "tensorflow" not in sys.modules:
      cli.quiet_tensorflow(())
    from tf_bilm_ner.serving.text_tagger import load_tagger  # pylint: disable=g-import-not-at-top
    return load_tagger
  raise AttributeError(f"module 'tf_bilm_ner' has no attribute {name!r}")
