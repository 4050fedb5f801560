"""A trained tagger -> a shippable tagger: a SavedModel (compact: `compact.py`) with a
manifest, found by name by `load_tagger` / `tf-bilm-predict --model=NAME` when it lies in
checkpoints/.

  <out_dir>/saved_model.pb, variables/, assets/, assets.extra/   the SavedModel
  <out_dir>/manifest.json   name, entity types, training data (files, sha256, terms, which
                            splits it was trained on), the BiLM it was initialised from, test
                            and devel scores of the shipped SavedModel itself (micro and per
                            type) beside the run's own, sizes, export settings, commands and
                            commits, sha256 of every file

A tagger trained on train + devel (`TrainConfig.train_on_devel`, the literature's protocol for
final models) has no held-out devel: its manifest says `"trained_on": ["train", "devel"]` and
has no devel score, only test's.

The scores are computed on the SavedModel as shipped (float16 table, cut vocabulary), so the
manifest's figures are the ones a user gets.
"""
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence

from absl import logging

from tf_bilm_ner import files, metrics, provenance
from tf_bilm_ner.data import formats
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE, Sentence
from tf_bilm_ner.errors import OutputExistsError, UserError
from tf_bilm_ner.evaluation import score_dict
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving.annotator import Annotator

MANIFEST = "manifest.json"


def predict_sentences(annotator: Annotator, sentences: Sequence[Sentence]) -> List[List[str]]:
  """IOB2 tags per sentence from a SavedModel; sentences longer than its max_tokens are
  tagged in pieces, batches within its max_batch."""
  limits = annotator.limits
  pieces = [(i, s.tokens[k:k + limits.max_tokens]) for i, s in enumerate(sentences)
            for k in range(0, max(len(s.tokens), 1), limits.max_tokens)]
  tags: List[List[str]] = [[] for _ in sentences]
  step = min(limits.max_batch, 256)
  for first in range(0, len(pieces), step):
    batch = pieces[first:first + step]
    for (i, _), row in zip(batch, annotator.tag_sentences([p for _, p in batch])):
      tags[i] += row
  return tags


def score_saved_model(path: str, data_path: str,
                      entity_type: str = DEFAULT_ENTITY_TYPE) -> dict:
  """Entity scores (micro and per type, as scores.json has them) of a SavedModel on a file."""
  sentences = formats.read_labeled(data_path, entity_type)
  predicted = predict_sentences(Annotator(path), sentences)
  return score_dict(*metrics.entity_scores([s.tags for s in sentences], predicted))


def package_tagger(run_dir: str, out_dir: str, name: str, data: Dict[str, str],
                   data_terms: str, export_config: export.ExportConfig,
                   entity_type: str = DEFAULT_ENTITY_TYPE, overwrite: bool = False,
                   started: Optional[float] = None) -> dict:
  """Exports `run_dir`'s best checkpoint into `out_dir` and writes its manifest; returns it.

  Args:
    data: "train", "devel", "test" -> the labeled files the tagger was trained and is scored
      on (devel and test are scored with the shipped SavedModel; devel only when it was held
      out, not when the run trained on it).
    data_terms: the training data's licence and attribution, copied into the manifest.
  """
  if os.path.exists(out_dir) and not overwrite:
    raise OutputExistsError(f"{out_dir} exists; pass --overwrite to replace it")
  try:
    with open(os.path.join(run_dir, "eval", "scores.json"), encoding="utf-8") as f:
      run_scores = json.load(f)
    with open(os.path.join(run_dir, "train_config.json"), encoding="utf-8") as f:
      train_config = json.load(f)
  except (OSError, ValueError) as e:
    raise UserError(f"{run_dir}: not a finished train_tagger run ({e}); train it to the end "
                    "first") from None
  tmp = f"{out_dir.rstrip('/')}.build-{os.getpid()}"
  shutil.rmtree(tmp, ignore_errors=True)
  path = export.export(run_dir, tmp, version=1, export_config=export_config)
  trained_on = ["train", "devel"] if train_config.get("train_on_devel") else ["train"]
  scores = {split: score_saved_model(path, data[split], entity_type)
            for split in ("devel", "test") if data.get(split) and split not in trained_on}
  manifest = {
      "name": name, "kind": "tagger",
      "entity_types": sorted(scores["test"]["per_type"]) if "test" in scores else [],
      "training_data": {"files": {s: {"path": p, "sha256_prefix": provenance.sha256_prefix(p)}
                                  for s, p in data.items() if p},
                        "trained_on": trained_on, "terms": data_terms},
      "init_from_bilm": os.path.basename(train_config.get("init_from_bilm", "")) or None,
      "scores": scores,
      "run_scores": {s: run_scores[s] for s in ("devel", "test") if s in run_scores},
      "best_epoch": run_scores.get("best_epoch"), "epochs_run": run_scores.get("epochs_run"),
      "seed": train_config.get("seed"),
      "export_config": json.loads(export_config.to_json()),
      "training": run_scores.get("provenance"),
      "packaging": provenance.record(list(data.values()), started=started)}
  with files.atomic_directory(out_dir, overwrite=overwrite) as final:
    for entry in os.listdir(path):
      os.replace(os.path.join(path, entry), os.path.join(final, entry))
    manifest["files_sha256_prefix"] = provenance.tree_sha256_prefixes(final, exclude=[MANIFEST])
    files.write_json_atomic(os.path.join(final, MANIFEST), manifest)
  shutil.rmtree(tmp, ignore_errors=True)
  logging.info("packaged %s -> %s: test F1 %.2f (the run's own: %.2f)", run_dir, out_dir,
               scores.get("test", {}).get("micro", {}).get("f1", float("nan")),
               run_scores.get("test", {}).get("micro", {}).get("f1", float("nan")))
  return manifest


def check_package(path: str) -> dict:
  """The manifest of a shipped tagger, after checking every file's sha256 against it."""
  try:
    with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
      manifest = json.load(f)
  except (OSError, ValueError) as e:
    raise UserError(f"{path}/{MANIFEST}: unreadable ({e})") from None
  for rel, digest in manifest["files_sha256_prefix"].items():
    target = os.path.join(path, rel)
    got = provenance.sha256_prefix(target) if os.path.isfile(target) else "missing"
    if got != digest:
      raise UserError(f"{target}: sha256 {got} is not the manifest's {digest}: the package "
                      "is damaged or was changed")
  return manifest
