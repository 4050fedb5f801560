"""The export's limits and options (`ExportConfig`), saved beside every SavedModel as
assets.extra/export_config.json; `serving/export.py` uses them (and re-exports the class)."""
import dataclasses
import os

from tf_bilm_ner.config import ConfigError, _Config
from tf_bilm_ner.serving import compact


@dataclasses.dataclass
class ExportConfig(_Config):
  """Serving limits, saved as assets.extra/export_config.json."""
  max_batch: int = 1024           # sentences (or documents) per request
  max_tokens: int = 512           # tokens per sentence
  max_chars_per_token: int = 32   # as in training: longer tokens keep their first characters
  max_text_chars: int = 1_000_000  # tag_text: characters per request, all documents together
  max_words: int = 0              # keep the first rows of the word table (0: all; compact.py)
  embedding_dtype: str = "float32"  # or float16: the word table stored in half precision
  # > 0: a one-sentence request of at most this many tokens runs the model's arithmetic
  # XLA-compiled, padded to a multiple of 8 tokens (one compilation per width, about 1 s at
  # its first request). TF Serving runs such a model only with
  # --xla_cpu_compilation_enabled=true (experimental there), hence off by default.
  xla_max_tokens: int = 0
  # > 0: the predicted entities whose lowest tag marginal is under it become O (serving/
  # entity_filter.py); choose it on devel (the run's eval/scores.json, "entity_threshold").
  min_entity_score: float = 0.0

  def validate(self) -> None:
    super().validate()
    for name in ("max_batch", "max_tokens", "max_chars_per_token", "max_text_chars"):
      if getattr(self, name) < 1:
        raise ConfigError(f"ExportConfig.{name} must be positive, got {getattr(self, name)}")
    if self.xla_max_tokens < 0:
      raise ConfigError(f"ExportConfig.xla_max_tokens must be >= 0, got {self.xla_max_tokens}")
    if self.max_words < 0 or 0 < self.max_words < 3:
      raise ConfigError(f"ExportConfig.max_words must be 0 (all) or >= 3, got {self.max_words}")
    if not 0.0 <= self.min_entity_score < 1.0:
      raise ConfigError(f"ExportConfig.min_entity_score must be in [0, 1), got "
                        f"{self.min_entity_score}")
    if self.embedding_dtype not in compact.EMBEDDING_DTYPES:
      raise ConfigError(f"ExportConfig.embedding_dtype must be one of "
                        f"{compact.EMBEDDING_DTYPES}, got {self.embedding_dtype!r}")


XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def xla_cpu_single_thread() -> str:
  """Makes XLA's CPU matmuls single-threaded in this process (for `profile_serving
  --xla_cpu_single_thread`): adds `XLA_SINGLE_THREAD` to the XLA_FLAGS environment variable
  unless it already sets that flag; XLA reads XLA_FLAGS once, at the process's first
  compilation, so this must run before it. Returns XLA_FLAGS. Measured on the
  `xla_max_tokens` path of a shipped tagger it bought nothing (results/README.md, "Eighth
  pass"), so nothing here turns it on.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_cpu_multi_thread_eigen" not in flags:
    flags = f"{flags} {XLA_SINGLE_THREAD}".strip()
    os.environ["XLA_FLAGS"] = flags
  return flags
