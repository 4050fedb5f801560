"""Streaming tf.data over sharded unlabeled text, for language-model training.

files (list_files, reshuffled each epoch) -> interleave(TextLineDataset), parallel
reads -> line shuffle buffer -> in-graph tokenisation (whitespace) and lookup ->
length buckets under a token budget -> next-word / previous-word targets -> prefetch.
Nothing holds more than the shuffle buffer and the batches in flight, whatever
the corpus size. Across workers the input is sharded by file.

Features (see `labeled.py` for the shared names):
  token_ids, char_ids, lengths     as for the tagger
  forward_targets  [batch, time]   int32, token_ids[t + 1], `</s>` at the last token, 0 at padding
  backward_targets [batch, time]   int32, token_ids[t - 1], `<s>` at the first token, 0 at padding

Lines are expected to be valid UTF-8 (`tools/shard_corpus.py` skips and counts
bad lines); any invalid byte that still arrives is replaced by U+FFFD in the
graph rather than failing the run. Lines longer than `max_tokens_per_line` are
cut (shard_corpus splits them, so this only guards unsharded input).
"""
from typing import Optional

import tensorflow as tf

from tf_bilm_ner.data import labeled
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.data.lm_vocab import BOS_ID, EOS_ID
from tf_bilm_ner.data.sharding import CorpusError

TOKENIZE_LINES = 256  # lines tokenised per in-graph call (`lm_dataset`)


def lm_targets(token_ids: tf.Tensor, lengths: tf.Tensor):
  """token_ids [B, T] int32, lengths [B] -> (forward_targets, backward_targets), each [B, T]."""
  t = tf.shape(token_ids)[1]
  pos = tf.range(t)[None, :]
  real = pos < lengths[:, None]
  nxt = tf.pad(token_ids[:, 1:], [[0, 0], [0, 1]])
  prev = tf.pad(token_ids[:, :-1], [[0, 0], [1, 0]])
  forward = tf.where(pos == lengths[:, None] - 1, EOS_ID, nxt)
  backward = tf.where(pos == 0, BOS_ID, prev)
  zeros = tf.zeros_like(token_ids)
  return tf.where(real, forward, zeros), tf.where(real, backward, zeros)


def lm_dataset(file_pattern: str, featurizer: Featurizer, batch_tokens: int, seed: int,
               shuffle: bool = True, max_tokens_per_line: int = 256, cycle_length: int = 4,
               shuffle_buffer: int = 10000,
               input_context: Optional[tf.distribute.InputContext] = None) -> tf.data.Dataset:
  """One pass over the shards matching `file_pattern`, as LM training batches.

  Args:
    file_pattern: a glob of text shards, one tokenised sentence per line.
    featurizer: word and character lookups (the LM vocabularies).
    batch_tokens: token budget per batch (padded positions count).
    seed: file order and line shuffling; use one seed per epoch to replay it.
    shuffle: shuffle files and lines (training); False for evaluation.
    max_tokens_per_line: longer lines are cut.
    cycle_length: shards read in parallel.
    shuffle_buffer: lines in the shuffle buffer.
    input_context: with tf.distribute, this worker's share of the files.
  Raises:
    CorpusError: the pattern matches no file, or fewer files than workers.
  """
  files = sorted(tf.io.gfile.glob(file_pattern))
  if not files:
    raise CorpusError(f"{file_pattern}: matches no file")
  ds = tf.data.Dataset.from_tensor_slices(files)
  if input_context and input_context.num_input_pipelines > 1:
    if len(files) < input_context.num_input_pipelines:
      raise CorpusError(f"{file_pattern}: {len(files)} files for "
                        f"{input_context.num_input_pipelines} workers; shard into more files")
    ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
  if shuffle:
    ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=False)
  ds = ds.interleave(tf.data.TextLineDataset, cycle_length=min(cycle_length, len(files)),
                     block_length=16, num_parallel_calls=min(cycle_length, len(files)),
                     deterministic=True)
  if shuffle:
    ds = ds.shuffle(shuffle_buffer, seed=seed + 1, reshuffle_each_iteration=False)
  ds = _bucketed(ds, batch_tokens, max_tokens_per_line)

  def featurize(batch):
    out = featurizer(batch["tokens"].to_tensor(default_value=""))
    out["lengths"] = batch["lengths"]
    out["forward_targets"], out["backward_targets"] = lm_targets(out["token_ids"], out["lengths"])
    return out

  opts = tf.data.Options()
  opts.deterministic = True
  opts.autotune.enabled = False  # see labeled.py: the autotuner halves speed on 2 cores
  opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
  return ds.map(featurize, num_parallel_calls=2).with_options(opts).prefetch(4)


def _bucketed(lines: tf.data.Dataset, batch_tokens: int, max_tokens_per_line: int
              ) -> tf.data.Dataset:
  """Lines -> batches of their non-empty token rows (ragged) and lengths, bucketed by length
  under the token budget, as `bucket_by_sequence_length` batches them."""
  boundaries = tf.constant(labeled.BUCKET_BOUNDARIES, tf.int32)
  batch_sizes = tf.constant(labeled.bucket_batch_sizes(batch_tokens), tf.int64)

  def tokenize(lines):
    """[n] lines -> their non-empty ones: tokens ragged [m, None], lengths [m], and the
    length bucket of each [m] (as `bucket_by_sequence_length` numbers them)."""
    lines = tf.strings.unicode_transcode(lines, "UTF-8", "UTF-8", errors="replace")
    tokens = tf.strings.split(tf.strings.strip(lines))[:, :max_tokens_per_line]
    lengths = tf.cast(tokens.row_lengths(), tf.int32)
    keep = lengths > 0
    lengths = tf.boolean_mask(lengths, keep)
    return {"tokens": tf.ragged.boolean_mask(tokens, keep), "lengths": lengths,
            "bucket": tf.searchsorted(boundaries, lengths, side="right", out_type=tf.int64)}

  # Lines are tokenised TOKENIZE_LINES at a time and bucketed by a precomputed key, the
  # token rows padded per batch: the batches `bucket_by_sequence_length` makes from one
  # map and filter call per line (tests/test_corpus.py), at a fraction of the per-element
  # cost (results/README.md, "The input pipeline, batched").
  ds = lines.batch(TOKENIZE_LINES).map(tokenize).unbatch()
  ds = ds.group_by_window(key_func=lambda x: x["bucket"],
                          reduce_func=lambda key, window: window.ragged_batch(batch_sizes[key]),
                          window_size_func=lambda key: batch_sizes[key])
  return ds
