"""Regenerates the tables in results/README.md from the stored JSON files.

  python tools/summarize_results.py --results_dir=results

Each table lies between `<!-- BEGIN NAME -->` and `<!-- END NAME -->` markers (the
comparison table also in the project README):
one per results/SETTING/ directory holding */seed*/scores.json (devel and test F1,
mean ± std over seeds) and `benchmark_tagger` (benchmark_tagger.json).
"""
import json
import os
import re

from absl import app, flags, logging

from tf_bilm_ner import files, plots, reporting

FLAGS = flags.FLAGS
flags.DEFINE_string("results_dir", "results", "The results directory.")


def _replace(text: str, name: str, table: str) -> str:
  pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
  if not pattern.search(text):
    raise app.UsageError(f"README has no <!-- BEGIN {name} --> ... <!-- END {name} --> markers")
  return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  readme = os.path.join(FLAGS.results_dir, "README.md")
  with open(readme, encoding="utf-8") as f:
    text = f.read()
  runs = reporting.load_runs(FLAGS.results_dir)
  for name in sorted(runs):
    if f"<!-- BEGIN {name} -->" in text:
      text = _replace(text, name, reporting.markdown_table({name: runs[name]}))
    else:
      logging.warning("results/%s has runs but README.md has no table for it", name)
  if "<!-- BEGIN comparison -->" in text:
    text = _replace(text, "comparison", reporting.comparison_table(runs))
  if "<!-- BEGIN data_efficiency -->" in text:
    datasets = {d for s in ("tagger_random_init", "tagger_bilm_init") for d in runs.get(s, {})}
    points = {d: p for d in datasets for p in [plots.data_efficiency_points(FLAGS.results_dir, d)]
              if p}
    text = _replace(text, "data_efficiency", reporting.data_efficiency_table(points))
  if "<!-- BEGIN convergence -->" in text:
    datasets = {d for s in ("tagger_random_init", "tagger_bilm_init") for d in runs.get(s, {})}
    histories = {d: {i: reporting.devel_f1_histories(FLAGS.results_dir, f"tagger_{i}", d)
                     for i in ("random_init", "bilm_init")} for d in datasets}
    text = _replace(text, "convergence", reporting.convergence_table(histories))
  bench = os.path.join(FLAGS.results_dir, "benchmark_tagger.json")
  if os.path.exists(bench):
    with open(bench, encoding="utf-8") as f:
      text = _replace(text, "benchmark_tagger", reporting.benchmark_table(json.load(f)))
  bilm_speed = os.path.join(FLAGS.results_dir, "bilm_speed", "benchmark_bilm_training.json")
  if os.path.exists(bilm_speed) and "<!-- BEGIN bilm_speed -->" in text:
    with open(bilm_speed, encoding="utf-8") as f:
      text = _replace(text, "bilm_speed", reporting.bilm_settings_table(json.load(f)))
  coverage = os.path.join(FLAGS.results_dir, "bilm_pretraining", "cased52m_lazy",
                          "vocab_coverage.json")
  if os.path.exists(coverage) and "<!-- BEGIN vocab_coverage -->" in text:
    with open(coverage, encoding="utf-8") as f:
      text = _replace(text, "vocab_coverage", reporting.vocab_coverage_table(json.load(f)))
  files.write_text_atomic(readme, text)
  logging.info("updated %s", readme)
  top = os.path.join(os.path.dirname(os.path.abspath(FLAGS.results_dir)), "README.md")
  if os.path.exists(top):  # the project README shows the comparison table too
    with open(top, encoding="utf-8") as f:
      top_text = f.read()
    if "<!-- BEGIN comparison -->" in top_text:
      files.write_text_atomic(top, _replace(top_text, "comparison",
                                            reporting.comparison_table(runs)))
  _plots(runs)


def _plots(runs) -> None:
  """results/plots/<dataset>_{convergence,data_efficiency}.png, if matplotlib is installed."""
  try:
    plots._pyplot()  # pylint: disable=protected-access
  except ImportError:
    logging.warning("matplotlib not installed (pip install -e '.[plots]'): plots not made")
    return
  out = os.path.join(FLAGS.results_dir, "plots")
  os.makedirs(out, exist_ok=True)
  datasets = sorted({d for s in ("tagger_random_init", "tagger_bilm_init")
                     for d in runs.get(s, {})})
  for d in datasets:
    for kind, fn in (("convergence", plots.convergence), ("data_efficiency", plots.data_efficiency)):
      path = os.path.join(out, f"{d}_{kind}.png")
      if fn(FLAGS.results_dir, d, path):
        logging.info("wrote %s", path)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
