"""Exports a trained tagger as a SavedModel for TF Serving.

  python tools/export_saved_model.py --run_dir=runs/ncbi_disease --export_dir=exports/ncbi

Writes <export_dir>/<version>/ (the next integer version unless --version is
given) with the vocabularies as assets and the configs in assets.extra/.
Signatures and limits: tf_bilm_ner/serving/export.py; serving commands: WORKSPACE.md.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

from absl import app, flags, logging

from tf_bilm_ner import entity_threshold
from tf_bilm_ner.serving import export

FLAGS = flags.FLAGS
_e = export.ExportConfig()
flags.DEFINE_string("run_dir", None, "Run directory written by train_tagger.")
flags.DEFINE_string("export_dir", None, "Model base directory that TF Serving watches.")
flags.DEFINE_integer("version", 0, "Version number (0: one more than the largest existing).")
flags.DEFINE_enum("checkpoint", "best", ["best", "ckpt"], "best devel F1, or the latest.")
flags.DEFINE_integer("max_batch", _e.max_batch, "Largest batch a request may send.")
flags.DEFINE_integer("max_tokens", _e.max_tokens, "Longest sentence, in tokens.")
flags.DEFINE_integer("xla_max_tokens", _e.xla_max_tokens, "> 0: one-sentence requests of at "
                     "most this many tokens run XLA-compiled (faster; TF Serving then needs "
                     "--xla_cpu_compilation_enabled=true). 0: off, for any TF Serving.")

flags.DEFINE_string("min_entity_score", "0", "Entities whose lowest tag marginal is under "
                    "this become O (precision for recall): a number in [0, 1), or 'devel', the "
                    "one the run chose on devel (its eval/scores.json). 0: off.")

def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if FLAGS.version < 0:
    raise app.UsageError(f"--version must be >= 0, got {FLAGS.version}")
  limits = export.ExportConfig(
      max_batch=FLAGS.max_batch, max_tokens=FLAGS.max_tokens, xla_max_tokens=FLAGS.xla_max_tokens,
      min_entity_score=entity_threshold.resolve(FLAGS.min_entity_score, FLAGS.run_dir))
  limits.validate()
  path = export.export(FLAGS.run_dir, FLAGS.export_dir, FLAGS.version, FLAGS.checkpoint,
                       limits)
  logging.info("exported %s", path)


def run():
  flags.mark_flags_as_required(["run_dir", "export_dir"])
  cli.run(main)


if __name__ == "__main__":
  run()
