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
  serving/       SavedModel export, tagging documents
  pipeline       every stage in one call
  experiments/   results tables, plots, benchmarks (not used by the library)
Binaries live in `tools/`.
"""
__version__ = "0.1.0"
