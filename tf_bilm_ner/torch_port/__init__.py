"""The BiLM in PyTorch, for pretraining on a GPU machine that has no TensorFlow 2.15.

The pinned TensorFlow with its CUDA libraries cannot be installed everywhere a GPU is at
hand (on the project's lent GPU machine nothing can be downloaded, and what travels there
is limited to 64 MiB). These modules import torch, numpy and the package's TensorFlow-free
I/O (`files`, `errors`), never TensorFlow; they read a corpus packed by
`tools/pack_lm_corpus.py` and write the encoder's weights under the Keras BiLM's own names
and layouts (`weights.py`), which `tools/import_bilm_weights.py` turns into a package
`--init_from_bilm` reads.

  model.py     the BiLM: CharCNN, word embedding, two LSTMs, one shared softmax
  batches.py   packed corpus -> length-bucketed batches under a token budget
  weights.py   torch parameters <-> Keras names and layouts; files of at most N bytes
  pretrain.py  the training loop: time budget, validation perplexity, history, export

The model is the Keras one (`layers/encoder.py`, `models/bilm.py`) in every computation that
transfer keeps; tests/test_torch_port.py compares the two on the same weights (states,
full-softmax NLL, and the sampled loss on the same candidates). Training differs from
`train_bilm` in its sampler: negatives drawn with replacement (expected count S * P(id))
rather than unique, and by default 8,192 of them rather than 1,024.
"""
