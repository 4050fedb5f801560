"""Reading and featurising data: CoNLL files, vocabularies, tf.data pipelines."""
