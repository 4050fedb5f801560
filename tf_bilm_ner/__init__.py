"""tf_bilm_ner: biomedical NER with bidirectional language model transfer.

Layout follows the data flow: `data/` (CoNLL, vocabularies, tf.data), `layers/`
(CharCNN, the shared Encoder, CRF), `models/` (tagger), `training.py`,
`prediction.py`, `metrics.py`. Binaries live in `tools/`.
"""
__version__ = "0.1.0"
