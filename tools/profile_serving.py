"""Where a single-sentence request to a tagger's serving graph spends its time, stage by stage
(tf_bilm_ner/experiments/serving_profile.py); writes a JSON to results/.

  python tools/profile_serving.py --run_dir=runs/ship/disease \
      --saved_model=checkpoints/disease --out=results/serving_profile/disease.json
  python tools/profile_serving.py --package=checkpoints/disease --xla_max_tokens=128 \
      --baseline_saved_model=checkpoints/disease   # a shipped tagger, no run directory
  python tools/profile_serving.py --package=checkpoints/disease --xla_max_tokens=128 \
      --top_lstm_units=200   # also what a top BiLSTM (train_tagger --top_lstm_units) costs
  python tools/profile_serving.py --package=checkpoints/disease --xla_max_tokens=128 \
      --flat_call   # also every signature as load_tagger calls it (serving/flat_call.py)
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import dataclasses
import os
import time

from absl import app, flags, logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data.conll import read_conll
from tf_bilm_ner.experiments import serving_profile, serving_speed
from tf_bilm_ner.serving import export, from_package, limits
from tf_bilm_ner.serving.flat_call import FlatCall
from tf_bilm_ner.resources import NCBI_DISEASE_DIR
from tf_bilm_ner.training import run_dir as run_dir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A train_tagger run directory (its best checkpoint).")
flags.DEFINE_string("package", None, "Instead of --run_dir: a tagger SavedModel written by "
                    "export_saved_model or package_tagger (e.g. checkpoints/disease), its "
                    "module rebuilt from the package's config, vocabularies and weights.")
flags.DEFINE_string("saved_model", None, "Also time this SavedModel's serving_default "
                    "(the same run, exported).")
flags.DEFINE_string("baseline_saved_model", None, "Also time this SavedModel (an earlier "
                    "export), interleaved with the rest in the same process.")
flags.DEFINE_list("batch_sizes", [], "With --saved_model and --baseline_saved_model: also "
                  "their serving_default tokens/s at these batch sizes, interleaved rounds.")
flags.DEFINE_float("min_seconds", 10.0, "Seconds per throughput round.")
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "test.tsv"), "CoNLL sentences.")
flags.DEFINE_integer("calls", 1000, "Single-sentence calls per stage.")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds the calls are split into.")
flags.DEFINE_integer("xla_max_tokens", 0, "> 0: also time the serving_default signature "
                     "with this ExportConfig.xla_max_tokens (stage signature_xla).")
flags.DEFINE_integer("top_lstm_units", 0, "> 0: also time serving_default (and, with "
                     "--xla_max_tokens, its XLA path) of the same tagger with a top BiLSTM of "
                     "this many units per direction added, its weights random: what "
                     "--top_lstm_units costs a request (stages signature_top, "
                     "signature_top_xla).", lower_bound=0)
flags.DEFINE_bool("xla_cpu_single_thread", False, "Before anything compiles, add "
                  "--xla_cpu_multi_thread_eigen=false to XLA_FLAGS (serving.limits."
                  "xla_cpu_single_thread): XLA's CPU matmuls on one thread. The report records "
                  "XLA_FLAGS either way.")
flags.DEFINE_bool("flat_call", False, "Also time every signature stage (signature, "
                  "signature_xla, signature_top*, saved_model, baseline) called through "
                  "serving.flat_call.FlatCall, as load_tagger calls it (stage <name>_flat).")
flags.DEFINE_string("spacy_python", None, "A Python with spaCy installed: also time spaCy's "
                    "NER (default architecture, untrained) on the same sentences in the same "
                    "rounds, in a worker process (stage spacy_ner).")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def _stage(sigs, name, signature):
  """`signature` as stage `name`, kept in `sigs` for --flat_call."""
  sigs[name] = signature
  return serving_profile.as_stage(signature)


def _add_xla_stage(fns, sigs, module, sentences):
  """fns["signature_xla"]: serving_default with --xla_max_tokens; returns the first calls'
  times (each new padded width compiles at its first request, so this runs before any
  other call)."""
  xla = dataclasses.replace(module.limits, xla_max_tokens=FLAGS.xla_max_tokens)
  fns["signature_xla"] = _stage(sigs, "signature_xla", export.TaggerModule(
      module.tagger, _vocab_dir(), xla).signatures()["serving_default"])
  first_calls = serving_profile.first_calls(
      fns["signature_xla"], sentences, [n for n in (5, 13, 26, 40, 64, 100, 128)
                                        if n <= FLAGS.xla_max_tokens])
  for row in first_calls:
    logging.info("signature_xla, first request of %d tokens: %.0f ms (then %.1f ms)",
                 row["tokens"], row["first_ms"], row["second_ms"])
  return first_calls


def _add_top_stages(fns, sigs, module):
  """fns["signature_top"] (and "signature_top_xla" with --xla_max_tokens): the module's
  tagger with a top BiLSTM of --top_lstm_units (serving_profile.with_top_lstm)."""
  tagger = serving_profile.with_top_lstm(module.tagger, FLAGS.top_lstm_units)
  configs = {"signature_top": module.limits}
  if FLAGS.xla_max_tokens:
    configs["signature_top_xla"] = dataclasses.replace(module.limits,
                                                       xla_max_tokens=FLAGS.xla_max_tokens)
  for name, config in configs.items():
    top = export.TaggerModule(tagger, _vocab_dir(), config)
    fns[name] = _stage(sigs, name, top.signatures()["serving_default"])


def _vocab_dir():
  if FLAGS.package:
    return os.path.join(FLAGS.package, "assets")
  return run_dir_lib.paths(FLAGS.run_dir)["vocab"]


def _compare_exports(exports, sentences):
  """same_results (every sentence alone through both) and, with --batch_sizes, throughput."""
  out = {"same_results": serving_profile.compare(exports, sentences)}
  logging.info("every sentence alone through both exports: %s", out["same_results"])
  if FLAGS.batch_sizes:
    out["throughput"] = [serving_profile.throughput(exports, sentences, int(b),
                                                    FLAGS.min_seconds)
                         for b in FLAGS.batch_sizes]
    for row in out["throughput"]:
      logging.info("tokens/s at batch %d: %s", row["saved_model"]["batch_size"],
                   ", ".join(f"{n} {r['tokens_per_sec']:.0f}" for n, r in row.items()))
  return out


def _profile(fns, sentences):
  """serving_profile.profile of `fns` (logged), with spaCy's NER in the same rounds if asked
  for; returns the stages and spaCy's version and config (None without --spacy_python)."""
  if not FLAGS.spacy_python:
    stages, info = serving_profile.profile(fns, sentences, FLAGS.calls, FLAGS.rounds), None
  else:
    with serving_profile.SpacyReference(FLAGS.spacy_python) as spacy_ner:
      stages = serving_profile.profile(fns, sentences, FLAGS.calls, FLAGS.rounds,
                                       {"spacy_ner": spacy_ner})
      info = spacy_ner.info
  for name, row in stages.items():
    logging.info("%-12s p50 %.2f ms%s", name, row["p50_ms"],
                 "" if row["adds_ms"] is None else f" (adds {row['adds_ms']:.2f})")
  return stages, info


def _stages(module, sentences):
  """-> (stage functions, the loaded SavedModels' signatures by stage name, the XLA stage's
  first-call times or None), as the flags ask."""
  fns = serving_profile.stage_functions(module)
  sigs = {"signature": module.signatures()["serving_default"]}
  first_calls = (_add_xla_stage(fns, sigs, module, sentences) if FLAGS.xla_max_tokens
                 else None)
  if FLAGS.top_lstm_units:
    _add_top_stages(fns, sigs, module)
  exports = {name: serving_profile.load_signature(path) for name, path in (
      ("saved_model", FLAGS.saved_model), ("baseline", FLAGS.baseline_saved_model)) if path}
  fns.update({name: _stage(sigs, name, sig) for name, sig in exports.items()})
  if FLAGS.flat_call:
    fns.update({f"{name}_flat": serving_profile.as_stage(FlatCall(sig))
                for name, sig in sigs.items()})
  return fns, exports, first_calls


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  if FLAGS.xla_cpu_single_thread:
    limits.xla_cpu_single_thread()
  sentences = [s.tokens for s in read_conll(FLAGS.data)]
  if bool(FLAGS.run_dir) == bool(FLAGS.package):
    raise app.UsageError("give exactly one of --run_dir and --package")
  module = (from_package.module_from_package(FLAGS.package) if FLAGS.package
            else serving_profile.module_from_run(FLAGS.run_dir))
  fns, exports, first_calls = _stages(module, sentences)
  stages, spacy_info = _profile(fns, sentences)
  report = {"run_dir": FLAGS.run_dir, "package": FLAGS.package,
            "saved_model": FLAGS.saved_model,
            "xla_max_tokens": FLAGS.xla_max_tokens, "xla_first_calls": first_calls,
            "top_lstm_units": FLAGS.top_lstm_units, "flat_call": FLAGS.flat_call,
            "xla_flags": os.environ.get("XLA_FLAGS"),
            "spacy": spacy_info,
            "baseline_saved_model": FLAGS.baseline_saved_model, "calls": FLAGS.calls,
            "mean_tokens": serving_speed.mean_tokens(sentences, FLAGS.calls),
            "stages": [{"stage": name, **row} for name, row in stages.items()],  # in order
            "provenance": provenance.record([FLAGS.data], started=started)}
  if len(exports) == 2:
    report.update(_compare_exports(exports, sentences))
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, report)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
