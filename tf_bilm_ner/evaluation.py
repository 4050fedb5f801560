"""Tagging sentences with a trained tagger, and scoring the result."""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf
from absl import logging

from tf_bilm_ner import entity_threshold as threshold
from tf_bilm_ner import files, metrics, provenance
from tf_bilm_ner.data import formats
from tf_bilm_ner.data import tag_scheme
from tf_bilm_ner.data import vocab as vocab_lib
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE, Sentence, write_conll
from tf_bilm_ner.data.labeled import Featurizer, LabeledData
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.models.tagger import Tagger
from tf_bilm_ner.serving import text_tagger
from tf_bilm_ner.serving.annotator import Annotator
from tf_bilm_ner.training import checkpoints

FEATURE_SIGNATURE = {
    "token_ids": tf.TensorSpec([None, None], tf.int32),
    "char_ids": tf.TensorSpec([None, None, None], tf.int32),
    "lengths": tf.TensorSpec([None], tf.int32),
}


def make_decode_fn(tagger: Tagger):
  """A traced decode step: features -> tag ids [B, T] int32 (one trace for all shapes)."""
  @tf.function(input_signature=[FEATURE_SIGNATURE])
  def decode(features):
    return tagger.decode(features)[0]
  return decode


def make_confidence_fn(tagger: Tagger):
  """A traced step: features -> (tag ids [B, T] int32, the CRF marginal of each [B, T]
  float32): `make_decode_fn`'s path, with `CRF.decode_with_marginals`' marginals."""
  @tf.function(input_signature=[FEATURE_SIGNATURE])
  def decode(features):
    potentials = tagger(features, training=False)
    tag_ids, _ = tagger.crf(potentials, features["lengths"])
    marginals = tagger.crf.decode_with_marginals(potentials, features["lengths"])[2]
    return tag_ids, tf.gather(marginals, tag_ids, batch_dims=2)
  return decode


def _rows(decode_fn, data: LabeledData, batch_tokens: int):
  """(sentence index, length, [each output of decode_fn for its row]) for every sentence."""
  for batch in data.batches(batch_tokens, shuffle=False):
    outs = decode_fn({k: batch[k] for k in FEATURE_SIGNATURE})
    outs = [o.numpy() for o in (outs if isinstance(outs, tuple) else (outs,))]
    for i, (idx, n) in enumerate(zip(batch["index"].numpy(), batch["lengths"].numpy())):
      yield idx, n, [o[i] for o in outs]


def predict_tags(tagger: Tagger, featurizer: Featurizer, tags: vocab_lib.Vocabulary,
                 sentences: Sequence[Sentence], batch_tokens: int = 8192,
                 decode_fn=None, data: Optional[LabeledData] = None) -> List[List[str]]:
  """Predicted IOB2 tags for each sentence, in input order.

  `tags`: the tagger's tag vocabulary (IOB2 or IOBES; `tag_scheme.to_iob2` maps each).
  `data`: the sentences already featurised (reused across epochs for devel).
  """
  decode_fn = decode_fn or make_decode_fn(tagger)
  data = data or LabeledData(sentences, featurizer, tags, with_labels=False)
  names = [tag_scheme.to_iob2(t) for t in tags.entries]
  out: List[List[str]] = [None] * len(sentences)
  for idx, n, (ids,) in _rows(decode_fn, data, batch_tokens):
    out[idx] = [names[t] for t in ids[:n]]
  return out


def predict_with_confidence(tagger: Tagger, featurizer: Featurizer, tags: vocab_lib.Vocabulary,
                            sentences: Sequence[Sentence], batch_tokens: int = 8192):
  """`predict_tags`' tags and each tag's CRF marginal ([length] float32) per sentence."""
  data = LabeledData(sentences, featurizer, tags, with_labels=False)
  names = [tag_scheme.to_iob2(t) for t in tags.entries]
  out_tags, out_conf = [None] * len(sentences), [None] * len(sentences)
  for idx, n, (ids, conf) in _rows(make_confidence_fn(tagger), data, batch_tokens):
    out_tags[idx], out_conf[idx] = [names[t] for t in ids[:n]], conf[:n]
  return out_tags, out_conf


def threshold_report(split_predictions: Dict[str, tuple]) -> dict:
  """The minimum entity score (`entity_threshold.py`) chosen on devel, and devel's and
  test's micro scores at it and at 0 (the tagger as it is). `split_predictions`: "devel"
  and "test" -> (sentences, predicted tags, their confidences), as `_score_file` gives them."""
  curves = {split: threshold.sweep([s.tags for s in sentences], pred, conf)
            for split, (sentences, pred, conf) in split_predictions.items()}
  chosen = threshold.choose(curves["devel"])
  return {"min_entity_score": chosen, "devel_curve": curves["devel"],
          **{f"{split}{suffix}": threshold.at(curves[split], score)
             for split in ("devel", "test") for suffix, score in (("", chosen), ("_at_0", 0.0))}}


def evaluate(tagger: Tagger, featurizer: Featurizer, tags: vocab_lib.Vocabulary,
             sentences: Sequence[Sentence], decode_fn=None,
             data: Optional[LabeledData] = None, batch_tokens: int = 8192):
  """-> (micro Score, per-type Scores, predicted tags per sentence)."""
  pred = predict_tags(tagger, featurizer, tags, sentences, batch_tokens, decode_fn, data)
  micro, per_type = metrics.entity_scores([s.tags for s in sentences], pred)
  return micro, per_type, pred


def score_dict(micro: metrics.Score, per_type) -> dict:
  return {"micro": dataclasses.asdict(micro),
          "per_type": {t: dataclasses.asdict(s) for t, s in per_type.items()}}


def evaluate_file(run_dir: str, data_path: str, predictions_path: str = None,
                  which: str = "best", entity_type: str = DEFAULT_ENTITY_TYPE,
                  min_entity_score: float = 0.0) -> dict:
  """Scores a run's checkpoint on a CoNLL file; optionally writes token/gold/predicted CoNLL.

  Gold tags the tagger cannot predict (absent from its tag vocabulary) are
  allowed: they count as missed entities, a warning names them, and the scores list them
  under `unknown_gold_tags`. `min_entity_score` > 0: the predicted entities whose lowest tag
  marginal is under it become O before scoring and in the predictions file, as an export
  with `ExportConfig.min_entity_score` tags them; the scores then say `min_entity_score`.
  """
  return _score_file(checkpoints.restore_tagger(run_dir, which), data_path, predictions_path,
                     entity_type, min_entity_score=min_entity_score)[0]


def _score_file(restored, data_path: str, predictions_path: Optional[str], entity_type: str,
                with_confidence: bool = False, min_entity_score: float = 0.0):
  """`evaluate_file` with the tagger already restored (`checkpoints.restore_tagger`'s
  tuple) -> (scores, sentences, predicted tags, each tag's CRF marginal or None)."""
  tagger, featurizer, vocabs, _ = restored
  with_confidence = with_confidence or min_entity_score > 0
  sentences = formats.read_labeled(data_path, entity_type)
  if with_confidence:
    pred, conf = predict_with_confidence(tagger, featurizer, vocabs.tags, sentences)
  else:
    pred, conf = predict_tags(tagger, featurizer, vocabs.tags, sentences), None
  scores, pred = _scores(data_path, sentences, pred, conf, vocabs.tags.entries,
                         predictions_path, min_entity_score)
  return scores, sentences, pred, conf


def evaluate_model(model: str, data_path: str, predictions_path: Optional[str] = None,
                   entity_type: str = DEFAULT_ENTITY_TYPE, min_entity_score: float = 0.0,
                   batch: int = 128) -> dict:
  """`evaluate_file` for any one model `load_tagger` takes: a shipped tagger's name, a
  SavedModel (scored as served: its own `min_entity_score`, if it was exported with one,
  applies too) or a run directory's best checkpoint. Raises a UserError naming the file
  and line of a sentence longer than the model's `max_tokens`."""
  models = text_tagger.resolve([model])
  if len(models) != 1:
    raise UserError(f"{model!r} names {len(models)} models; score one at a time")
  annotator = Annotator(models[0][1])
  sentences = formats.read_labeled(data_path, entity_type)
  for s in sentences:
    annotator.check_length(data_path, s)
  pred, conf = [], []
  for i in range(0, len(sentences), batch):
    tags, confidence = annotator.tag_sentences_scored([s.tokens for s in sentences[i:i + batch]])
    pred += tags
    conf += confidence
  return _scores(data_path, sentences, pred, conf, annotator.tag_names, predictions_path,
                 min_entity_score)[0]


def _scores(data_path: str, sentences: Sequence[Sentence], pred: List[List[str]], conf,
            tag_names: Sequence[str], predictions_path: Optional[str],
            min_entity_score: float) -> Tuple[dict, List[List[str]]]:
  """Scores predicted IOB2 tags against `sentences`' gold tags, after dropping the entities
  under `min_entity_score` when > 0; writes the predictions file. -> (scores, the tags
  scored)."""
  predictable = tag_scheme.iob2_tag_set(tag_names)
  unknown = sorted({t for s in sentences for t in s.tags} - set(predictable))
  if unknown:
    logging.warning("%s: gold tags %s are not in the tagger's tag set %s; their entities "
                    "count as missed", data_path, unknown, predictable)
  if min_entity_score > 0:
    pred = [threshold.keep_confident(p, c, min_entity_score) for p, c in zip(pred, conf)]
  micro, per_type = metrics.entity_scores([s.tags for s in sentences], pred)
  if predictions_path:
    write_conll(predictions_path, sentences, pred)
  logging.info("%s\n%s", data_path, metrics.format_scores(micro, per_type))
  scores = score_dict(micro, per_type)
  if len(per_type) > 1:  # boundaries only, as BioBERT scores its untyped files
    scores["untyped"] = {"micro": dataclasses.asdict(metrics.entity_scores(
        [metrics.untyped(s.tags) for s in sentences], [metrics.untyped(p) for p in pred])[0])}
  if unknown:
    scores["unknown_gold_tags"] = unknown
  if min_entity_score > 0:
    scores["min_entity_score"] = min_entity_score
  return scores, pred


def score_run(result, paths: Dict[str, Optional[str]], seed: int, started: float,
              entity_type: str = DEFAULT_ENTITY_TYPE, score_devel: bool = True) -> dict:
  """Scores a finished training run's best checkpoint on devel (and test, if its path is
  given); writes `<run_dir>/eval/{scores.json, <split>_predictions.conll}`.

  Args:
    result: the `tagger_loop.TrainResult`.
    paths: "train", "devel" and optionally "test" -> CoNLL file (None: not scored).
    seed, started: for the provenance record (`started`: time.time() at the run's start).
    score_devel: False when devel was training data (`TrainConfig.train_on_devel`): the
      report then has no "devel" entry and says `"train_on_devel": true`.
  With devel and test both scored, the report also holds `entity_threshold`
  (`threshold_report`): the scores above are the tagger's own, unthresholded.
  """
  eval_dir = os.path.join(result.run_dir, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  report = {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early}
  if not score_devel:
    report["train_on_devel"] = True
  splits = [s for s in (("devel", "test") if score_devel else ("test",)) if paths.get(s)]
  threshold_wanted = splits == ["devel", "test"]
  restored = checkpoints.restore_tagger(result.run_dir, "best")
  predictions = {}
  for split in splits:
    report[split], sentences, pred, conf = _score_file(
        restored, paths[split], os.path.join(eval_dir, f"{split}_predictions.conll"),
        entity_type, with_confidence=threshold_wanted)
    predictions[split] = (sentences, pred, conf)
  if threshold_wanted:
    report["entity_threshold"] = found = threshold_report(predictions)
    logging.info("minimum entity score chosen on devel: %.2f (devel F1 %.2f, %.2f at 0); "
                 "test F1 %.2f there, %.2f at 0 (the scores above)", found["min_entity_score"],
                 found["devel"]["f1"], found["devel_at_0"]["f1"], found["test"]["f1"],
                 found["test_at_0"]["f1"])
  report["provenance"] = provenance.record([p for p in paths.values() if p], seed=seed,
                                           started=started)
  files.write_json_atomic(os.path.join(eval_dir, "scores.json"), report)
  return report
