"""Regenerates the tables of results/README.md (and the comparison table of the project
README) from the stored JSON files, and the plots.

Each table lies between `<!-- BEGIN NAME -->` and `<!-- END NAME -->` markers: one per
results/SETTING/ directory holding */seed*/scores.json (devel and test F1, mean ± std over
seeds), and the named tables below.
"""
import glob
import json
import os
import re

from absl import logging

from tf_bilm_ner import files
from tf_bilm_ner.errors import UserError
from tf_bilm_ner.experiments import plots, reporting

INIT_SETTINGS = ("tagger_random_init", "tagger_bilm_init")
# marker -> (JSON file under results/, the table it makes)
JSON_TABLES = {
    "benchmark_tagger": ("benchmark_tagger.json", reporting.benchmark_table),
    "bilm_speed": (os.path.join("bilm_speed", "benchmark_bilm_training.json"),
                   reporting.bilm_settings_table),
    "bilm_speed_unique_chars": (os.path.join("bilm_speed", "benchmark_bilm_unique_chars.json"),
                                reporting.bilm_settings_table),
    **{f"bilm_speed_{name}": (os.path.join("bilm_speed", f"benchmark_bilm_{name}.json"),
                              reporting.bilm_settings_table)
       for name in ("hoisted", "xent", "baseline", "interleaved", "bf16", "bf16_batched_input",
                    "bf16_zen5")},
    "vocab_coverage": (os.path.join("bilm_pretraining", "cased52m_lazy", "vocab_coverage.json"),
                       reporting.vocab_coverage_table),
}


def replace_table(text: str, name: str, table: str) -> str:
  pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
  if not pattern.search(text):
    raise UserError(f"README has no <!-- BEGIN {name} --> ... <!-- END {name} --> markers")
  return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def summarize(results_dir: str) -> None:
  """Rewrites results_dir/README.md, the README.md beside results_dir, and the plots."""
  readme = os.path.join(results_dir, "README.md")
  with open(readme, encoding="utf-8") as f:
    text = f.read()
  runs = reporting.load_runs(results_dir)
  for name in sorted(runs):
    if f"<!-- BEGIN {name} -->" in text:
      text = replace_table(text, name, reporting.markdown_table({name: runs[name]}))
    else:
      logging.warning("results/%s has runs but README.md has no table for it", name)
  text = _init_tables(text, results_dir, runs)
  if "<!-- BEGIN entity_threshold -->" in text:
    text = replace_table(text, "entity_threshold", reporting.entity_threshold_table(runs))
  if "<!-- BEGIN scored_with_min_score -->" in text:
    text = replace_table(text, "scored_with_min_score", reporting.scored_with_min_score_table(
        _json_files(os.path.join(results_dir, "entity_threshold_probe"))))
  for name, (path, make) in JSON_TABLES.items():
    path = os.path.join(results_dir, path)
    if os.path.exists(path) and f"<!-- BEGIN {name} -->" in text:
      with open(path, encoding="utf-8") as f:
        text = replace_table(text, name, make(json.load(f)))
  files.write_text_atomic(readme, text)
  logging.info("updated %s", readme)
  top = os.path.join(os.path.dirname(os.path.abspath(results_dir)), "README.md")
  if os.path.exists(top):  # the project README shows the comparison table too
    with open(top, encoding="utf-8") as f:
      top_text = f.read()
    if "<!-- BEGIN comparison -->" in top_text:
      files.write_text_atomic(top, replace_table(top_text, "comparison",
                                                 reporting.comparison_table(runs)))
  make_plots(results_dir, runs)


def _json_files(directory: str) -> dict:
  """{file name without .json: its content} for the *.json files directly in `directory`."""
  found = {}
  for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
    with open(path, encoding="utf-8") as f:
      found[os.path.basename(path)[:-len(".json")]] = json.load(f)
  return found


def _init_tables(text: str, results_dir: str, runs) -> str:
  """The comparison, data-efficiency and convergence tables (random vs BiLM init)."""
  datasets = {d for s in INIT_SETTINGS for d in runs.get(s, {})}
  if "<!-- BEGIN comparison -->" in text:
    text = replace_table(text, "comparison", reporting.comparison_table(runs))
  if "<!-- BEGIN data_efficiency -->" in text:
    points = {d: p for d in datasets for p in [plots.data_efficiency_points(results_dir, d)]
              if p}
    text = replace_table(text, "data_efficiency", reporting.data_efficiency_table(points))
  if "<!-- BEGIN convergence -->" in text:
    histories = {d: {i: reporting.devel_f1_histories(results_dir, f"tagger_{i}", d)
                     for i in plots.INITS} for d in datasets}
    text = replace_table(text, "convergence", reporting.convergence_table(histories))
  return text


def make_plots(results_dir: str, runs) -> None:
  """results/plots/<dataset>_{convergence,data_efficiency}.png, if matplotlib is installed."""
  try:
    plots._pyplot()  # pylint: disable=protected-access
  except ImportError:
    logging.warning("matplotlib not installed (pip install -e '.[plots]'): plots not made")
    return
  out = os.path.join(results_dir, "plots")
  os.makedirs(out, exist_ok=True)
  for d in sorted({d for s in INIT_SETTINGS for d in runs.get(s, {})}):
    for kind, fn in (("convergence", plots.convergence), ("data_efficiency", plots.data_efficiency)):
      path = os.path.join(out, f"{d}_{kind}.png")
      if fn(results_dir, d, path):
        logging.info("wrote %s", path)
