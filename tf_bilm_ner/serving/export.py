"""SavedModel export of a trained tagger, for TF Serving.

Layout (TF Serving's): `<export_dir>/<version>/` with `saved_model.pb`,
`variables/`, `assets/{words,chars,tags}.txt` (the word table reads words.txt; the
characters and tag names are constants of the graph, their files the record of them)
and `assets.extra/{tagger_config.json,export_config.json}`.

Signature `serving_default` (tokenised sentences):
  inputs   tokens  [batch, time] tf.string, right-padded with ""
           lengths [batch] tf.int32, real tokens per sentence
  outputs  tags           [batch, time] tf.string, IOB2 ("" at padding)
           tag_ids        [batch, time] tf.int32, lines of assets/tags.txt, the tagger's
                          own tag set (IOB2, or IOBES for a tagger trained on it; 0 at padding)
           tag_confidence [batch, time] tf.float32, CRF marginal probability of
                          each predicted tag (0 at padding)
           confidence     [batch] tf.float32, probability of the whole predicted
                          tag sequence under the CRF, exp(best score - log Z) (of the
                          Viterbi path, before `min_entity_score` drops any entity)

Signature `tag_text` (raw documents; tokenisation, sentence splitting and
span decoding all inside the graph, the same rules as `data/tokenizer.py`):
  inputs   text  [batch] tf.string, one document (abstract, paragraph) each
  outputs  entity_start, entity_end [batch, max entities] tf.int32: character
                 (Unicode code point) offsets, text[start:end] is the entity; -1 pads
           entity_type  [batch, max entities] tf.string ("" pads)
           entity_text  [batch, max entities] tf.string, the surface text
           entity_score [batch, max entities] tf.float32, the lowest CRF marginal of
                        the entity's tags
           num_entities, num_sentences [batch] tf.int32
  Sentences longer than `max_tokens` tokens are tagged in pieces of `max_tokens`.

Limits (`ExportConfig`): at most `max_batch` sentences of at most
`max_tokens` tokens; beyond them, and for lengths that do not fit `tokens`,
the call fails with INVALID_ARGUMENT and a message naming the limit (TF
Serving answers HTTP 400 with it). Sentences of length 0 are allowed and
get no tags.

`xla_max_tokens` > 0 (off by default): a one-sentence request of at most that many tokens runs
the model's arithmetic XLA-compiled (`TaggerModule._model_padded_xla`), the same results at
about two thirds of the latency; TF Serving then needs `--xla_cpu_compilation_enabled=true`.

The graph holds only core TensorFlow ops (tensorflow_addons' CRF functions
are compositions of them), so serving needs no tensorflow_addons.
"""
import dataclasses
import os
import shutil
import types
from typing import Callable, Dict

import tensorflow as tf

from tf_bilm_ner import files
from tf_bilm_ner.data import graph_text
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.labeled import Featurizer
from tf_bilm_ner.errors import OutputExistsError
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.serving import compact
from tf_bilm_ner.serving.entity_filter import EntityFilter
from tf_bilm_ner.serving.limits import ExportConfig
from tf_bilm_ner.training import checkpoints
from tf_bilm_ner.training import run_dir as run_dir_lib

CHUNK = 64  # sentences per model call inside a request (see TaggerModule._tag)
TOKENS_SIGNATURE = {"tokens": tf.TensorSpec([None, None], tf.string, name="tokens"),
                    "lengths": tf.TensorSpec([None], tf.int32, name="lengths")}


def _table(path: str, default: int) -> tf.lookup.StaticHashTable:
  """string -> int64 line number, read from a vocabulary file (becomes a SavedModel asset)."""
  init = tf.lookup.TextFileInitializer(
      path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
  return tf.lookup.StaticHashTable(init, default_value=default)


class TaggerModule(tf.Module):
  """The exported module: vocabulary tables, the tagger, and the serving functions."""

  def __init__(self, tagger: Tagger, vocab_dir: str, export_config: ExportConfig):
    super().__init__(name="tagger_module")
    # The Keras model itself is kept out of the SavedModel (object.__setattr__ skips
    # tracking): Keras would add its layers' training and inference traces, megabytes of
    # graph no signature calls. Its variables are saved through this list.
    if not tagger.variables:
      raise ValueError("TaggerModule needs a built tagger (its variables are saved)")
    object.__setattr__(self, "tagger", tagger)
    self.weights = list(tagger.variables)
    self.limits = export_config
    chars_path, tags_path = (os.path.join(vocab_dir, f) for f in ("chars.txt", "tags.txt"))
    # The characters and tag names are constants of the graph (a code-point table, a list
    # of IOB2 names: fewer and cheaper ops per request than string tables); their files
    # stay in assets/ as the package's record of them.
    self.featurizer = Featurizer(_table(os.path.join(vocab_dir, "words.txt"), vocab_lib.UNK_ID),
                                 vocab_lib.Vocabulary.load(chars_path),
                                 export_config.max_chars_per_token)
    self.assets = [tf.saved_model.Asset(chars_path), tf.saved_model.Asset(tags_path)]
    tags = vocab_lib.Vocabulary.load(tags_path, reserved=()).entries
    object.__setattr__(self, "_tag_names", [tag_scheme.to_iob2(t) for t in tags])
    score = export_config.min_entity_score
    object.__setattr__(self, "_filter", EntityFilter(self._tag_names, score) if score else None)
    # The tf.functions live on a plain object, outside the object graph: tf.saved_model.save
    # stores a module's function attributes and, again, each signature made from one.
    # `tag` is shared by both signatures, so its graph is stored once.
    tokens_spec = [TOKENS_SIGNATURE["tokens"], TOKENS_SIGNATURE["lengths"]]
    self._functions = types.SimpleNamespace(
        tag=tf.function(self._tag, input_signature=tokens_spec),
        model_xla=tf.function(self._model, jit_compile=True),
        tag_tokens=tf.function(self.tag_tokens, input_signature=tokens_spec),
        tag_text=tf.function(self.tag_text, input_signature=[
            tf.TensorSpec([None], tf.string, name="text")]))

  def features(self, tokens: tf.Tensor, lengths: tf.Tensor) -> Dict[str, tf.Tensor]:
    """tokens [B, T] string, lengths [B] -> token_ids, char_ids, lengths (as in training)."""
    return dict(self.featurizer(tokens, lengths), lengths=lengths)

  def _check(self, tokens: tf.Tensor, lengths: tf.Tensor):
    lim = self.limits
    batch, time = tf.shape(tokens)[0], tf.shape(tokens)[1]
    return [
        tf.debugging.assert_equal(tf.shape(lengths)[0], batch, message=(
            "lengths must have one entry per row of tokens")),
        tf.debugging.assert_less_equal(batch, lim.max_batch, message=(
            f"batch larger than max_batch={lim.max_batch} sentences; split the request")),
        tf.debugging.assert_less_equal(time, lim.max_tokens, message=(
            f"sentence longer than max_tokens={lim.max_tokens}; split it")),
        tf.debugging.assert_non_negative(lengths, message="lengths must be >= 0"),
        tf.debugging.assert_less_equal(lengths, time, message=(
            "a length is larger than the number of token columns")),
    ]

  def signatures(self) -> Dict[str, Callable]:
    """{"serving_default": ..., "tag_text": ...}: the concrete functions to save as
    signatures (and to call in-process, with keyword arguments as a loaded model's)."""
    return {"serving_default": self._functions.tag_tokens.get_concrete_function(),
            "tag_text": self._functions.tag_text.get_concrete_function()}

  def tag_tokens(self, tokens, lengths):
    """The `serving_default` signature (see the module docstring)."""
    with tf.control_dependencies(self._check(tokens, lengths)):  # checks run before any use
      tokens, lengths = tf.identity(tokens), tf.identity(lengths)
    return self._functions.tag(tokens, lengths)

  def tag_text(self, text):
    """The `tag_text` signature: raw documents -> entity spans (see the module docstring)."""
    lim = self.limits
    chars = tf.strings.length(text, unit="UTF8_CHAR")
    checks = [
        tf.debugging.assert_less_equal(tf.size(text), lim.max_batch, message=(
            f"batch larger than max_batch={lim.max_batch} documents; split the request")),
        tf.debugging.assert_less_equal(tf.reduce_sum(chars), lim.max_text_chars, message=(
            f"request longer than max_text_chars={lim.max_text_chars} characters in all; "
            "split it")),
    ]
    with tf.control_dependencies(checks):
      text = tf.identity(text)
    tokens = graph_text.tokenize(text)
    sentence = graph_text.sentence_ids(tokens, lim.max_tokens)
    num_sentences = tf.reduce_max(tf.concat([[-1], sentence], 0)) + 1
    by_sentence = tf.RaggedTensor.from_value_rowids(tokens["text"], sentence, num_sentences)
    lengths = tf.cast(by_sentence.row_lengths(), tf.int32)
    # At least one row and column: an empty request still runs the model, on nothing.
    matrix = by_sentence.to_tensor("", shape=[tf.maximum(num_sentences, 1),
                                              tf.maximum(tf.reduce_max(tf.concat(
                                                  [[1], lengths], 0)), 1)])
    lengths = tf.pad(lengths, [[0, tf.shape(matrix)[0] - num_sentences]])
    out = self._functions.tag(matrix, lengths)
    flat = lambda x: tf.RaggedTensor.from_tensor(x, lengths=lengths).flat_values
    ents = graph_text.spans(flat(out["tags"]), flat(out["tag_confidence"]), sentence, tokens)
    batch = tf.size(text)
    per_doc = lambda x, fill: tf.RaggedTensor.from_value_rowids(x, ents["row"], batch).to_tensor(
        fill)
    return {"entity_start": per_doc(ents["start"], -1), "entity_end": per_doc(ents["end"], -1),
            "entity_type": per_doc(ents["type"], ""), "entity_text": per_doc(ents["text"], ""),
            "entity_score": per_doc(ents["score"], 0.0),
            "num_entities": graph_text.count_per_row(
                tf.ones_like(ents["row"], tf.bool), ents["row"], batch),
            "num_sentences": graph_text.count_per_row(
                tf.not_equal(sentence, graph_text.shift(sentence, 1, -1)), tokens["row"], batch)}

  def _tag(self, tokens, lengths):
    """Padded tokens [B, T], lengths [B] -> tags, tag_ids, tag_confidence, confidence.

    One function both signatures call (stored once). A batch of at most `CHUNK` sentences
    runs as it is; a larger one is sorted by length and run in chunks of `CHUNK`
    sentences, each cut to its own longest sentence, so one long sentence does not make
    the LSTMs run every other sentence of a large batch to its length. Results return in
    input order.
    """
    batch, width = tf.shape(tokens)[0], tf.shape(tokens)[1]
    tokens = tf.pad(tokens, [[0, 0], [0, tf.maximum(1 - width, 0)]])  # a [B, 0] request
    return tf.cond(batch <= CHUNK, lambda: self._tag_cut(tokens, lengths, width),
                   lambda: self._tag_chunks(tokens, lengths, width))

  def _tag_cut(self, tokens, lengths, width):
    """tokens [B, max(width, 1)] cut to the longest sentence, tagged, and padded back to
    [B, width] (`confidence` [B])."""
    cut = tf.maximum(tf.reduce_max(tf.concat([[0], lengths], 0)), 1)
    out = self._tag_padded(tokens[:, :cut], lengths)
    grow = [[0, 0], [0, tf.maximum(width - tf.shape(out["tags"])[1], 0)]]
    return {k: tf.pad(v, grow)[:, :width] if k != "confidence" else v for k, v in out.items()}

  def _tag_chunks(self, tokens, lengths, width):
    """`_tag` of a batch larger than `CHUNK`: tokens [B, max(width, 1)], lengths [B]."""
    batch = tf.shape(tokens)[0]
    chunks = (batch + CHUNK - 1) // CHUNK
    order = tf.argsort(lengths, direction="DESCENDING", stable=True)
    extra = chunks * CHUNK - batch
    tokens_sorted = tf.pad(tf.gather(tokens, order), [[0, extra], [0, 0]])
    lengths_sorted = tf.pad(tf.gather(lengths, order), [[0, extra]])

    def one_chunk(i):
      rows = tf.range(i * CHUNK, (i + 1) * CHUNK)
      return self._tag_cut(tf.gather(tokens_sorted, rows), tf.gather(lengths_sorted, rows),
                           width)

    spec = lambda dtype, rank: tf.TensorSpec([None] * rank, dtype)
    outs = tf.map_fn(one_chunk, tf.range(chunks), fn_output_signature={
        "tags": spec(tf.string, 2), "tag_ids": spec(tf.int32, 2),
        "tag_confidence": spec(tf.float32, 2), "confidence": spec(tf.float32, 1)})
    back = tf.argsort(order)  # inverse permutation
    return {k: tf.gather(tf.reshape(v, tf.concat([[-1], tf.shape(v)[2:]], 0))[:batch], back)
            for k, v in outs.items()}

  def _model(self, token_ids, char_ids, lengths, char_width=None):
    """token_ids [B, T], char_ids [B, T, C], lengths [B] -> tag_ids [B, T], best score [B],
    marginals [B, T, K], log Z [B]: the tagger's arithmetic, from the lookups' ids on.
    `char_width`: C before char_ids were padded (`Encoder.embed`)."""
    features = {"token_ids": token_ids, "char_ids": char_ids, "lengths": lengths}
    if char_width is not None:
      features["char_width"] = char_width
    potentials = self.tagger(features, training=False, fused=True)
    return self.tagger.crf.decode_with_marginals(potentials, lengths)

  def _model_padded_xla(self, features):
    """`_model` XLA-compiled, on [1, T] features padded to a multiple of 8 tokens (16 past
    64 tokens, 32 past 128; at most `xla_max_tokens`) and to 16 or `max_chars_per_token`
    characters, so that few shapes are compiled (XLA compiles once per shape); the loops
    stop at the sentence's length (`fused._steps`), and the outputs are cut back to T.
    The CharCNN is told the unpadded character width, so the padding changes nothing.
    """
    time = tf.shape(features["token_ids"])[1]
    step = tf.where(time <= 64, 8, tf.where(time <= 128, 16, 32))
    grow = tf.minimum((time + step - 1) // step * step, self.limits.xla_max_tokens) - time
    chars = tf.shape(features["char_ids"])[2]
    most = self.limits.max_chars_per_token
    grow_chars = tf.where(chars <= min(16, most), min(16, most), most) - chars
    tag_ids, best, marginals, log_z = self._functions.model_xla(
        tf.pad(features["token_ids"], [[0, 0], [0, grow]]),
        tf.pad(features["char_ids"], [[0, 0], [0, grow], [0, grow_chars]]), features["lengths"],
        chars)
    return tag_ids[:, :time], best, marginals[:, :time], log_z

  def _tag_padded(self, tokens, lengths):
    """One chunk: tokens [B, T] (T >= 1), lengths [B] -> the `_tag` outputs."""
    features = self.features(tokens, lengths)
    portable = lambda: self._model(features["token_ids"], features["char_ids"], lengths)
    if self.limits.xla_max_tokens:
      one_short = tf.logical_and(tf.equal(tf.shape(tokens)[0], 1),
                                 tf.shape(tokens)[1] <= self.limits.xla_max_tokens)
      tag_ids, best, marginals, log_z = tf.cond(
          one_short, lambda: self._model_padded_xla(features), portable)
    else:
      tag_ids, best, marginals, log_z = portable()
    real = tf.sequence_mask(lengths, tf.shape(tokens)[1])
    tag_conf = tf.gather(marginals, tag_ids, batch_dims=2)
    if self._filter:  # ExportConfig.min_entity_score
      tag_ids, tag_conf = self._filter(tag_ids, tag_conf, marginals, real)
    # IOB2 names (an IOBES tagger's S-X is B-X, E-X is I-X: tag_scheme.to_iob2).
    tags = tf.where(real, tf.gather(tf.constant(self._tag_names), tag_ids), "")
    empty = tf.equal(lengths, 0)
    return {"tags": tags, "tag_ids": tag_ids,
            "tag_confidence": tf.where(real, tag_conf, 0.0),
            "confidence": tf.where(empty, 1.0, tf.exp(best - log_z))}


def export(run_dir: str, export_dir: str, version: int = 0, which: str = "best",
           export_config: ExportConfig = ExportConfig()) -> str:
  """Writes `<export_dir>/<version>/` from a run directory; returns that path.

  version 0 means one more than the largest existing integer version (1 if none).
  The version directory is written under a temporary name and renamed when
  complete, so TF Serving (which polls `export_dir`) never sees a partial model.
  """
  tagger, _, vocabs, tagger_config = checkpoints.restore_tagger(run_dir, which)
  if not version:
    existing = [int(d) for d in os.listdir(export_dir) if d.isdigit()] if os.path.isdir(
        export_dir) else []
    version = max(existing, default=0) + 1
  final = os.path.join(export_dir, str(version))
  if os.path.exists(final):
    raise OutputExistsError(f"{final} exists; TF Serving versions are immutable, pick another")
  config = dataclasses.replace(export_config,
                               max_chars_per_token=tagger_config.encoder.max_chars_per_token)
  config.validate()
  # Built inside export_dir under a name TF Serving does not take for a version.
  os.makedirs(export_dir, exist_ok=True)
  with files.atomic_directory(final, tmp=os.path.join(export_dir, f".tmp-{version}-{os.getpid()}")
                              ) as tmp:
    vocab_dir = run_dir_lib.paths(run_dir)["vocab"]
    if config.max_words or config.embedding_dtype != "float32":
      vocab_dir = os.path.join(tmp, ".vocab")  # words.txt cut to the rows kept
      os.makedirs(vocab_dir)
      for name in ("chars.txt", "tags.txt"):
        shutil.copy(os.path.join(run_dir_lib.paths(run_dir)["vocab"], name), vocab_dir)
      rows = compact.compact(tagger, vocabs.words, config.max_words, config.embedding_dtype,
                             vocab_dir)
      tagger_config = dataclasses.replace(tagger_config, encoder=dataclasses.replace(
          tagger_config.encoder, word_vocab_size=rows))
    module = TaggerModule(tagger, vocab_dir, config)
    tf.saved_model.save(module, tmp, signatures=module.signatures())
    shutil.rmtree(os.path.join(tmp, ".vocab"), ignore_errors=True)  # copied into assets/
    extra = os.path.join(tmp, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    tagger_config.save(os.path.join(extra, "tagger_config.json"))
    config.save(os.path.join(extra, "export_config.json"))
  return final
