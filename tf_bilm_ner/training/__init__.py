"""Training: the run directory, the tagger and BiLM loops, and what they share.

`run_dir` (layout, config check, checkpoints, history), `progress` (the log line with
tokens/s and ETA), `tagger_loop` (fine-tuning with early stopping on devel F1), `bilm_loop`
(pretraining on streamed shards), `distribute` (tf.distribute helpers), `row_adam` and
`lazy_adam` (Adam variants that move only some rows), `precision` (dtype policies).
"""
