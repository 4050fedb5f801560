"""PNG plots of stored results (matplotlib, an optional dependency: `pip install -e ".[plots]"`).

Convergence: devel F1 per epoch, mean over seeds with min-max band, one line
per initialisation, from results/<setting>/<dataset>/seed*/history.jsonl.
Data efficiency: test F1 against the share of train sentences used, from
results/data_efficiency_<init>/<dataset>_f<percent>/seed*/scores.json plus the
full-data runs in results/tagger_<init>/<dataset>/.
"""
import glob
import json
import os
import re
import statistics
from typing import Dict, List

from tf_bilm_ner import files
from tf_bilm_ner.experiments import reporting

# The settings plotted, one line each; labels from reporting's one table.
INITS = {key: reporting.SETTING_LABELS[key]
         for key in ("random_init", "bilm_init", "bilm52m_init", "bilm52m_features",
                     "random_init_u384", "bilm52m_u384_init")}


def _pyplot():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def _finish(plt, fig, ax, xlabel: str, ylabel: str, title: str, out_png: str) -> bool:
  """Labels, grid, legend; writes the PNG and closes the figure."""
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  with files.atomic_file(out_png, "wb") as f:
    fig.savefig(f, dpi=120, format="png")
  plt.close(fig)
  return True


def convergence(results_dir: str, dataset: str, out_png: str) -> bool:
  """Devel F1 per epoch for both inits; False if there is nothing to plot."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  drawn = False
  for i, (init, label) in enumerate(INITS.items()):
    runs = reporting.devel_f1_histories(results_dir, f"tagger_{init}", dataset)
    if not runs:
      continue
    # A run that stopped early keeps its last value, so the band does not collapse.
    padded = reporting.padded_runs(runs)
    epochs = list(range(1, len(padded[0]) + 1))
    mean = reporting.mean_curve(runs)
    seeds = f"{len(runs)} seed" + ("s" if len(runs) != 1 else "")
    ax.plot(epochs, mean, color=f"C{i}", label=f"{label} ({seeds})")
    ax.fill_between(epochs, [min(c) for c in zip(*padded)], [max(c) for c in zip(*padded)],
                    color=f"C{i}", alpha=0.2)
    drawn = True
  if not drawn:
    plt.close(fig)
    return False
  return _finish(plt, fig, ax, "epoch", "devel F1",
                 f"{dataset}: devel F1 per epoch (mean, min-max over seeds)", out_png)


def _test_f1(paths: List[str]) -> List[float]:
  out = []
  for p in paths:
    with open(p, encoding="utf-8") as f:
      scores = json.load(f)
    if "test" in scores:
      out.append(scores["test"]["micro"]["f1"])
  return out


def data_efficiency_points(results_dir: str, dataset: str) -> Dict[str, Dict[float, List[float]]]:
  """{init: {percent of train: [test F1 per seed]}}."""
  points: Dict[str, Dict[float, List[float]]] = {}
  for init in INITS:
    pattern = os.path.join(results_dir, f"data_efficiency_{init}", f"{dataset}_f*")
    for d in glob.glob(pattern):
      m = re.search(r"_f(\d+)$", d)
      if m:
        f1 = _test_f1(glob.glob(os.path.join(d, "seed*", "scores.json")))
        if f1:
          points.setdefault(init, {})[float(m.group(1))] = f1
    full = _test_f1(glob.glob(os.path.join(results_dir, f"tagger_{init}", dataset, "seed*",
                                           "scores.json")))
    if full and init in points:
      points[init][100.0] = full
  return points


def data_efficiency(results_dir: str, dataset: str, out_png: str) -> bool:
  """Test F1 against the share of train used, both inits; False if nothing to plot."""
  points = data_efficiency_points(results_dir, dataset)
  if not points:
    return False
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  for i, (init, label) in enumerate(INITS.items()):  # the colours of the convergence plot
    if init not in points:
      continue
    by_pct = points[init]
    xs = sorted(by_pct)
    means = [statistics.mean(by_pct[x]) for x in xs]
    errs = [statistics.stdev(by_pct[x]) if len(by_pct[x]) > 1 else 0.0 for x in xs]
    seeds = "/".join(str(len(by_pct[x])) for x in xs)
    ax.errorbar(xs, means, yerr=errs, marker="o", capsize=3, color=f"C{i}",
                label=f"{label} (seeds per point: {seeds})")
  ax.set_xscale("log")
  ax.set_xticks([10, 25, 50, 100])
  ax.set_xticklabels(["10%", "25%", "50%", "100%"])
  return _finish(plt, fig, ax, "share of train sentences", "test F1",
                 f"{dataset}: data efficiency (mean ± std over seeds)", out_png)
