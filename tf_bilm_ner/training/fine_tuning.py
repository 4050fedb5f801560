"""Training a tagger as the binary and the pipeline run it: read the files, train, score."""
import time
from typing import Dict, Optional

from tf_bilm_ner.config import TaggerConfig, TrainConfig
from absl import logging

from tf_bilm_ner.data import formats
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE
from tf_bilm_ner.evaluation import score_run
from tf_bilm_ner.training import tagger_loop


def fine_tune(paths: Dict[str, Optional[str]], run_dir: str, tagger_config: TaggerConfig,
              train_config: TrainConfig, overwrite: bool = False,
              checkpoint_every_secs: float = 300.0, started: Optional[float] = None,
              entity_type: str = DEFAULT_ENTITY_TYPE) -> dict:
  """Trains (or resumes) a tagger on labeled files and scores its best checkpoint.

  Args:
    paths: "train", "devel" and optionally "test" -> a CoNLL file in any tagging scheme, or
      a PubTator file with annotations (`formats.read_labeled`; None: not scored). Every
      file is read (and checked) before training starts.
    run_dir, tagger_config, train_config, overwrite, checkpoint_every_secs: as
      `tagger_loop.train_tagger`.
    started: time.time() at the command's start, for the provenance's wall time.
    entity_type: the type untyped tags (B/I/O) are read as.
  Returns:
    The scores report, also in `<run_dir>/eval/scores.json` (`evaluation.score_run`).
  """
  started = started or time.time()
  train, devel = (formats.read_labeled(paths[s], entity_type) for s in ("train", "devel"))
  if paths.get("test"):
    formats.read_labeled(paths["test"], entity_type)  # a bad test file fails now
  logging.info("entity types in train: %s", sorted({t[2:] for s in train for t in s.tags
                                                    if t != "O"}))
  result = tagger_loop.train_tagger(train, devel, run_dir, tagger_config, train_config,
                                    overwrite=overwrite,
                                    checkpoint_every_secs=checkpoint_every_secs)
  return score_run(result, paths, seed=train_config.seed, started=started,
                   entity_type=entity_type, score_devel=not train_config.train_on_devel)


def default_encoder_lr_scale(init_from_bilm: bool) -> float:
  """The encoder's learning-rate scale when none is asked for: the fine-tuning schedule
  with a BiLM (chosen on NCBI-disease devel), 1 without."""
  return tagger_loop.FINE_TUNE_ENCODER_LR_SCALE if init_from_bilm else 1.0
