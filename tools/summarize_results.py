"""Writes results/tagger_table.md (every stored run's devel and test F1, mean ± std over seeds)
and, if results/benchmark_tagger.json exists, results/benchmark_tagger.md.

  python tools/summarize_results.py --results_dir=results
"""
import json
import os

from absl import app, flags, logging

from tf_bilm_ner import reporting

FLAGS = flags.FLAGS
flags.DEFINE_string("results_dir", "results", "The results directory.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runs = reporting.load_runs(FLAGS.results_dir)
  if not runs:
    raise app.UsageError(f"{FLAGS.results_dir}: no */*/seed*/scores.json found")
  table = reporting.markdown_table(runs)
  out = os.path.join(FLAGS.results_dir, "tagger_table.md")
  with open(out + ".tmp", "w", encoding="utf-8") as f:
    f.write("<!-- written by tools/summarize_results.py; do not edit -->\n" + table + "\n")
  os.replace(out + ".tmp", out)
  logging.info("wrote %s\n%s", out, table)
  bench = os.path.join(FLAGS.results_dir, "benchmark_tagger.json")
  if os.path.exists(bench):
    with open(bench, encoding="utf-8") as f:
      text = reporting.benchmark_table(json.load(f))
    with open(bench[:-5] + ".md", "w", encoding="utf-8") as f:
      f.write("<!-- written by tools/summarize_results.py; do not edit -->\n" + text + "\n")
    logging.info("wrote %s\n%s", bench[:-5] + ".md", text)


def run():
  app.run(main)


if __name__ == "__main__":
  run()
