"""Regenerates the tables in results/README.md from the stored JSON files.

  python tools/summarize_results.py --results_dir=results

Each table lies between `<!-- BEGIN NAME -->` and `<!-- END NAME -->` markers (the
comparison table also in the project README):
one per results/SETTING/ directory holding */seed*/scores.json (devel and test F1,
mean ± std over seeds) and `benchmark_tagger` (benchmark_tagger.json).
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

from absl import app, flags

from tf_bilm_ner.experiments import summary

FLAGS = flags.FLAGS
flags.DEFINE_string("results_dir", "results", "The results directory.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  summary.summarize(FLAGS.results_dir)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
