"""The whole method in one call: take a shipped BiLM (or shard and pretrain one, or continue
pretraining one on the corpus's text), transfer, train taggers from BiLM and random init,
evaluate, export, tag raw text.

  <run_dir>/
    pipeline_config.json   PipelineConfig (below)
    unlabeled.txt          when it pretrains and no unlabeled files are given: the train and
                           devel sentences of the labeled corpus (never test)
    corpus/                shards and manifest (tools/shard_corpus.py), when it pretrains
    bilm/                  the BiLM it pretrained (tools/train_bilm.py layout); with
                           `bilm_source` and no `adapt_epochs`, the source is used in place
    tagger_bilm/           tagger initialised from bilm/ (tools/train_tagger.py layout)
    tagger_random/         tagger with random initialisation, same training settings (both
                           taggers train at once, each with half the cores: `parallel_taggers`)
    export/1/              SavedModel of tagger_bilm/ for TF Serving
    summary.json           perplexity, devel/test scores of both taggers, export path, the
                           sample text's entities, provenance and wall time per stage

Every stage resumes: rerunning the same call skips finished stages and continues an
interrupted training from its last checkpoint.
"""
import dataclasses
import json
import os
import time
from typing import Dict, List, Optional, Sequence

from absl import logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.serving import export
from tf_bilm_ner.serving import tag_documents
from tf_bilm_ner.training import fine_tuning
from tf_bilm_ner.training import parallel
from tf_bilm_ner.training import pretraining
from tf_bilm_ner.training import run_dir as run_dir_lib
from tf_bilm_ner.transfer import surgery, warm_start
from tf_bilm_ner.config import (BiLMConfig, BiLMTrainConfig, ConfigError, EncoderConfig,
                                TaggerConfig, TrainConfig, _Config)
from tf_bilm_ner.data import sharding
from tf_bilm_ner.data import formats
from tf_bilm_ner.data.conll import DEFAULT_ENTITY_TYPE

SAMPLE_TEXT = ("Germline mutations in BRCA1 and BRCA2 confer a high risk of breast and ovarian "
               "cancer. Patients with Duchenne muscular dystrophy lack dystrophin, and "
               "myotonic dystrophy type 1 is caused by a CTG repeat expansion in DMPK.")


@dataclasses.dataclass
class PipelineConfig(_Config):
  """Everything a pipeline run does; saved as `<run_dir>/pipeline_config.json`."""
  bilm: BiLMConfig = dataclasses.field(default_factory=BiLMConfig)
  bilm_train: BiLMTrainConfig = dataclasses.field(default_factory=BiLMTrainConfig)
  max_words: int = 50000            # BiLM word vocabulary
  num_shards: int = 16
  valid_fraction: float = 0.01      # held out for perplexity
  tagger: TaggerConfig = dataclasses.field(default_factory=TaggerConfig)
  train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
  bilm_encoder_lr_scale: float = fine_tuning.default_encoder_lr_scale(True)  # BiLM-init tagger
  bilm_source: str = ""   # "": pretrain `bilm` from scratch on the unlabeled text; else start
                          # from this BiLM (a shipped name or a path), its own sizes and vocabulary
  adapt_epochs: int = 0   # with bilm_source: epochs of continued pretraining on the unlabeled
                          # text (domain adaptation); 0: use it as is
  adapt_softmax_warmup_steps: int = 150  # with adapt_epochs, from a BiLM shipped without its
                          # softmax: steps that first train a new softmax alone, encoder frozen
                          # (at most half the adaptation's steps: `adapt_warmup_steps`)
  parallel_taggers: bool = True  # train the BiLM-init and random-init taggers at once, each
                                 # in its own process with half the cores (training/parallel.py)

  def validate(self) -> None:
    super().validate()
    if not 0.0 < self.valid_fraction < 1.0:
      raise ConfigError(f"PipelineConfig.valid_fraction must be in (0, 1), got "
                        f"{self.valid_fraction}")
    if self.max_words < 3 or self.num_shards < 1:
      raise ConfigError("PipelineConfig.max_words must be >= 3 and num_shards >= 1")
    if self.adapt_epochs < 0 or (self.adapt_epochs and not self.bilm_source):
      raise ConfigError("PipelineConfig.adapt_epochs must be >= 0, and needs bilm_source")
    if self.adapt_softmax_warmup_steps < 0:
      raise ConfigError("PipelineConfig.adapt_softmax_warmup_steps must be >= 0")

  @property
  def pretrains(self) -> bool:
    """Whether the pipeline trains a BiLM (from scratch, or continuing bilm_source)."""
    return not self.bilm_source or self.adapt_epochs > 0


def preset(name: str, seed: int = 1) -> PipelineConfig:
  """`default`: the shipped BiLM (biomed5m_10epoch) fine-tuned into a tagger, against random
  init, both trained at once for up to 30 epochs; under 10 minutes on 2 CPU cores on the
  embedded NCBI-disease corpus.
  `scratch`: a small BiLM pretrained from scratch on the labeled corpus's own train and devel
  text (the default before issue #18; it shows the machinery, not the gain: about +0.3 F1).
  `full`: the configuration behind results/README.md (hours on 2 cores)."""
  encoder = EncoderConfig(dropout=0.1, word_dropout=0.0)  # BiLM: light dropout, as train_bilm
  if name == "default":  # 30 epochs: the most that fit in 10 minutes with both taggers at once
    return PipelineConfig(
        bilm_source="biomed5m_10epoch",
        train=TrainConfig(seed=seed, max_epochs=30, patience=6))
  if name == "scratch":
    return PipelineConfig(
        bilm=BiLMConfig(encoder=encoder, num_sampled=512),
        bilm_train=BiLMTrainConfig(epochs=4, seed=seed, batch_tokens=2048),
        max_words=20000, num_shards=4, valid_fraction=0.02,
        train=TrainConfig(seed=seed, max_epochs=20, patience=4))
  if name == "full":
    return PipelineConfig(
        bilm=BiLMConfig(encoder=encoder, num_sampled=1024),
        bilm_train=BiLMTrainConfig(epochs=10, seed=1, batch_tokens=4096),
        max_words=50000, num_shards=16, valid_fraction=0.01, train=TrainConfig(seed=seed))
  raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")


PRESETS = ("default", "scratch", "full")


def run(run_dir: str, config: PipelineConfig, data_dir: str,
        unlabeled: Optional[Sequence[str]] = None, overwrite: bool = False,
        entity_type: str = DEFAULT_ENTITY_TYPE) -> dict:
  """Runs (or resumes) every stage; returns the summary (also in `<run_dir>/summary.json`).

  Args:
    run_dir: see the module docstring.
    config: `preset(...)` or your own.
    data_dir: labeled `train.tsv`, `devel.tsv`, `test.tsv`: CoNLL in any tagging scheme or
      PubTator with annotations (`formats.read_labeled`).
    unlabeled: files or globs of text (one tokenised sentence per line) for pretraining, in
      the order given (each glob's matches sorted; the order decides the shards); None: the
      train and devel sentences of `data_dir`.
    overwrite: replace a pipeline run with another config in `run_dir`.
    entity_type: the type untyped tags (B/I/O) are read as.
  """
  started = time.time()
  config.validate()
  if unlabeled is not None:
    unlabeled = sharding.expand_inputs(unlabeled)  # before anything is written
  with run_dir_lib.hold(run_dir):
    return _run(run_dir, config, data_dir, unlabeled, overwrite, started, entity_type)


def _run(run_dir: str, config: PipelineConfig, data_dir: str,
         unlabeled: Optional[Sequence[str]], overwrite: bool, started: float,
         entity_type: str) -> dict:
  run_dir_lib.prepare(run_dir, {"pipeline_config.json": config}, overwrite,
                      outputs=("unlabeled.txt", "corpus", "bilm", "tagger_bilm", "tagger_random",
                               "export", "summary.json"))
  config.save(os.path.join(run_dir, "pipeline_config.json"))
  paths = {s: os.path.join(data_dir, f"{s}.tsv") for s in ("train", "devel", "test")}
  data = {s: formats.read_labeled(p, entity_type) for s, p in paths.items()}
  times: Dict[str, float] = {}

  def stage(name, fn):
    t0 = time.time()
    logging.info("pipeline: %s", name)
    out = fn()
    times[name] = round(time.time() - t0, 1)
    return out

  history, bilm = [], surgery.resolve(config.bilm_source) if config.bilm_source else ""
  if config.pretrains:
    if unlabeled is None:
      unlabeled = [stage("unlabeled sample", lambda: _sample(run_dir, data))]
    corpus = os.path.join(run_dir, "corpus")
    shards = stage("shard", lambda: _shard(corpus, unlabeled, config))
    history = stage("pretrain BiLM" if not bilm else "continue pretraining the BiLM",
                    lambda: _pretrain(run_dir, corpus, config, bilm,
                                      sharding.train_tokens(shards)))
    bilm = os.path.join(run_dir, "bilm")
  inits = ("bilm", "random")
  args = {init: (run_dir, init, paths, config, os.path.abspath(bilm), entity_type)
          for init in inits}
  scores = {init: _scores(run_dir, init) for init in inits}
  left = [init for init in inits if scores[init] is None]
  if config.parallel_taggers and left:
    done = stage("taggers (" + " and ".join(left) + " init, at once)", lambda: parallel.run(
        [(_tagger, args[init]) for init in left], processes=len(inits)))
    scores.update(zip(left, done))
  else:
    for init in left:
      scores[init] = stage(f"tagger ({init} init)", lambda init=init: _tagger(*args[init]))
  export_path = stage("export", lambda: _export(run_dir))
  entities = stage("tag sample text",
                   lambda: tag_documents.Annotator(export_path).tag_texts([SAMPLE_TEXT])[0])
  last = history[-1] if history else {}
  summary = {
      "bilm": {"source": config.bilm_source, "epochs": len(history),
               "valid_perplexity_forward": last.get("valid_perplexity_forward"),
               "valid_perplexity_backward": last.get("valid_perplexity_backward")},
      "taggers": scores, "export": export_path,
      "sample": {"text": SAMPLE_TEXT, "entities": entities},
      "stage_secs": times,
      "provenance": provenance.record(list(paths.values()) + list(unlabeled or []),
                                      seed=config.train.seed, started=started)}
  files.write_json_atomic(os.path.join(run_dir, "summary.json"), summary)
  return summary


def _sample(run_dir: str, data: dict) -> str:
  path = os.path.join(run_dir, "unlabeled.txt")
  if not os.path.exists(path):
    formats.write_token_lines(path, (s for split in ("train", "devel") for s in data[split]))
  return path


def _shard(corpus: str, inputs: Sequence[str], config: PipelineConfig) -> dict:
  manifest = os.path.join(corpus, "manifest.json")
  if not os.path.exists(manifest):
    sharding.shard_corpus(inputs, corpus, config.num_shards, config.valid_fraction,
                          config.bilm_train.seed, overwrite=True)
  with open(manifest, encoding="utf-8") as f:
    return json.load(f)


def adapt_warmup_steps(config: PipelineConfig, checkpoint: str, train_tokens: int) -> int:
  """Softmax warm-up steps for continued pretraining from the BiLM `checkpoint`: none if it
  has its softmax; else `adapt_softmax_warmup_steps`, but at most half of the steps the
  adaptation is expected to take (`adapt_epochs` passes over `train_tokens`), so that the
  encoder itself adapts for the other half."""
  if warm_start.has_softmax(checkpoint):
    return 0
  steps = config.adapt_epochs * -(-train_tokens // config.bilm_train.batch_tokens)
  warmup = min(config.adapt_softmax_warmup_steps, steps // 2)
  logging.info("%s has no softmax: a new one trains alone for the first %d of about %d steps",
               checkpoint, warmup, steps)
  return warmup


def _pretrain(run_dir: str, corpus: str, config: PipelineConfig, source: str,
              train_tokens: int) -> List[dict]:
  bilm_config, train_config = config.bilm, config.bilm_train
  if source:  # continued pretraining: the source's sizes and vocabularies
    loaded = surgery.load_source(source)
    bilm_config = surgery.continued_config(loaded, bilm_config, {})
    warmup = adapt_warmup_steps(config, loaded.checkpoint, train_tokens)
    train_config = dataclasses.replace(train_config, epochs=config.adapt_epochs,
                                       init_from_bilm=os.path.abspath(loaded.checkpoint),
                                       softmax_warmup_steps=warmup)
  return pretraining.pretrain(
      os.path.join(corpus, "train-*"), os.path.join(corpus, "valid-*"),
      os.path.join(run_dir, "bilm"), bilm_config, train_config,
      shards_manifest=os.path.join(corpus, "manifest.json"), max_words=config.max_words).history


def _scores(run_dir: str, init: str) -> Optional[dict]:
  """A finished tagger's scores, or None."""
  path = os.path.join(run_dir, f"tagger_{init}", "eval", "scores.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _tagger(run_dir: str, init: str, paths: dict, config: PipelineConfig, bilm: str,
            entity_type: str) -> dict:
  out = os.path.join(run_dir, f"tagger_{init}")
  train_config, tagger_config = config.train, config.tagger
  if init == "bilm":
    train_config = dataclasses.replace(train_config, encoder_lr_scale=config.bilm_encoder_lr_scale,
                                       init_from_bilm=bilm)
    tagger_config = dataclasses.replace(tagger_config, encoder=surgery.sizes_from_bilm(
        tagger_config.encoder, surgery.load_source(bilm).config.encoder))
  return fine_tuning.fine_tune(paths, out, tagger_config, train_config, entity_type=entity_type)


def _export(run_dir: str) -> str:
  path = os.path.join(run_dir, "export", "1")
  if not os.path.exists(path):
    export.export(os.path.join(run_dir, "tagger_bilm"), os.path.dirname(path), version=1)
  return path


def table(summary: dict) -> str:
  """The summary as a few aligned lines for the log."""
  b = summary["bilm"]
  if b.get("source") and not b["epochs"]:
    head = f"BiLM: {b['source']}, as shipped (no continued pretraining)"
  else:
    head = (f"BiLM: {b['source'] + ', ' if b.get('source') else ''}{b['epochs']} epochs"
            f"{' of continued pretraining' if b.get('source') else ''}, valid perplexity "
            f"forward {b['valid_perplexity_forward']:.1f}, backward "
            f"{b['valid_perplexity_backward']:.1f}")
  lines = [head,
           f"{'tagger':<14}{'devel F1':>10}{'test P':>10}{'test R':>10}{'test F1':>10}"]
  for init, s in summary["taggers"].items():
    t = s["test"]["micro"]
    lines.append(f"{init + ' init':<14}{s['devel']['micro']['f1']:>10.2f}{t['precision']:>10.2f}"
                 f"{t['recall']:>10.2f}{t['f1']:>10.2f}")
  lines.append(f"export: {summary['export']}")
  lines.append(f"sample: {summary['sample']['text']}")
  for e in summary["sample"]["entities"]:
    lines.append(f"  [{e['start']}, {e['end']}) {e['type']:<10} {e['text']!r} ({e['score']:.2f})")
  secs = summary["stage_secs"]
  lines.append("stages: " + ", ".join(f"{k} {v:.0f}s" for k, v in secs.items()) +
               f"; total {summary['provenance']['wall_time_secs']:.0f}s")
  return "\n".join(lines)
