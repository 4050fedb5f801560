"""Training a tagger as the binary and the pipeline run it: read the files, train, score."""
import time
from typing import Dict, Optional

from tf_bilm_ner.config import TaggerConfig, TrainConfig
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.evaluation import score_run
from tf_bilm_ner.training import tagger_loop


def fine_tune(paths: Dict[str, Optional[str]], run_dir: str, tagger_config: TaggerConfig,
              train_config: TrainConfig, overwrite: bool = False,
              checkpoint_every_secs: float = 300.0, started: Optional[float] = None) -> dict:
  """Trains (or resumes) a tagger on CoNLL files and scores its best checkpoint.

  Args:
    paths: "train", "devel" and optionally "test" -> CoNLL file (None: not scored). Every
      file is read (and checked) before training starts.
    run_dir, tagger_config, train_config, overwrite, checkpoint_every_secs: as
      `tagger_loop.train_tagger`.
    started: time.time() at the command's start, for the provenance's wall time.
  Returns:
    The scores report, also in `<run_dir>/eval/scores.json` (`evaluation.score_run`).
  """
  started = started or time.time()
  train, devel = read_conll(paths["train"]), read_conll(paths["devel"])
  if paths.get("test"):
    read_conll(paths["test"])  # a bad test file fails now, not after training
  result = tagger_loop.train_tagger(train, devel, run_dir, tagger_config, train_config,
                                    overwrite=overwrite,
                                    checkpoint_every_secs=checkpoint_every_secs)
  return score_run(result, paths, seed=train_config.seed, started=started)


def default_encoder_lr_scale(init_from_bilm: bool) -> float:
  """The encoder's learning-rate scale when none is asked for: the fine-tuning schedule
  with a BiLM (chosen on NCBI-disease devel), 1 without."""
  return tagger_loop.FINE_TUNE_ENCODER_LR_SCALE if init_from_bilm else 1.0
