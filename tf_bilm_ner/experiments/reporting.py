"""Tables of stored results: mean and spread over seeds, per dataset and setting."""
import glob
import json
import os
import re
import statistics
from typing import Dict, List


def load_runs(results_dir: str) -> Dict[str, Dict[str, List[dict]]]:
  """results/<setting>/<dataset>/seed*/scores.json -> {setting: {dataset: [scores...]}}."""
  out: Dict[str, Dict[str, List[dict]]] = {}
  for path in sorted(glob.glob(os.path.join(results_dir, "*", "*", "seed*", "scores.json"))):
    seed_dir = os.path.dirname(path)
    dataset_dir = os.path.dirname(seed_dir)
    setting = os.path.basename(os.path.dirname(dataset_dir))
    with open(path, encoding="utf-8") as f:
      scores = json.load(f)
    scores["seed_dir"] = os.path.relpath(seed_dir, results_dir)
    history = _history(seed_dir)  # per-epoch training speed, for the run tables
    if history:
      scores["epoch_tokens_per_sec"] = [r["train_tokens_per_sec"] for r in history]
    out.setdefault(setting, {}).setdefault(os.path.basename(dataset_dir), []).append(scores)
  return out


def _mean_std(values: List[float]) -> str:
  if len(values) == 1:
    return f"{values[0]:.2f}"
  return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def _epoch(scores: dict) -> str:
  """The epoch a run's model comes from: its best devel epoch, or its last where devel was
  training data (`TrainConfig.train_on_devel`: no best to choose)."""
  return f"{scores['best_epoch']} (last)" if scores.get("train_on_devel") else str(
      scores["best_epoch"])


def markdown_table(runs: Dict[str, Dict[str, List[dict]]]) -> str:
  """One row per (setting, dataset): devel and test F1 (mean ± sample std), seeds, wall time,
  and the median over all seeds' epochs of training tokens/s (from history.jsonl)."""
  lines = ["| setting | dataset | seeds | devel F1 | test P | test R | test F1 | per-seed test F1 | "
           "per-type test F1 (mean) | best epochs | wall time / run | train tokens/s |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for setting, datasets in sorted(runs.items()):
    for dataset, rows in sorted(datasets.items()):
      test = [r for r in rows if "test" in r]
      devel = [r for r in rows if "devel" in r]  # none where devel was trained on
      col = lambda split, key, rs: _mean_std([r[split]["micro"][key] for r in rs]) if rs else "-"
      seeds = [r["provenance"]["seed"] for r in rows]
      wall = statistics.mean(r["provenance"]["wall_time_secs"] for r in rows)
      per_seed = ", ".join(f"{s}: {r['test']['micro']['f1']:.2f}"
                           for s, r in zip(seeds, rows) if "test" in r)
      types = sorted({t for r in test for t in r["test"].get("per_type", {})})
      per_type = ", ".join(
          f"{t} {statistics.mean(r['test']['per_type'][t]['f1'] for r in test):.2f}"
          for t in types) or "-"
      speeds = [x for r in rows for x in r.get("epoch_tokens_per_sec", [])]
      speed = f"{statistics.median(speeds):,.0f}" if speeds else "-"
      lines.append(
          f"| {setting} | {dataset} | {len(rows)} | {col('devel', 'f1', devel)} | "
          f"{col('test', 'precision', test)} | {col('test', 'recall', test)} | "
          f"{col('test', 'f1', test)} | "
          f"{per_seed} | {per_type} | "
          f"{', '.join(_epoch(r) for r in rows)} | {wall / 60:.1f} min | {speed} |")
  return "\n".join(lines)


def entity_threshold_table(runs: Dict[str, Dict[str, List[dict]]]) -> str:
  """One row per (setting, dataset) whose runs report `entity_threshold` (a minimum entity
  score chosen on devel, `evaluation.threshold_report`): the thresholds, and test F1 (mean ±
  std) without and with them, over the seeds that report it."""
  lines = ["| setting | dataset | seeds | thresholds chosen on devel | test F1 | test F1, "
           "thresholded | gain | test P / R, thresholded |", "|---|---|---|---|---|---|---|---|"]
  for setting, datasets in sorted(runs.items()):
    for dataset, rows in sorted(datasets.items()):
      found = [r["entity_threshold"] for r in rows if "entity_threshold" in r]
      if not found:
        continue
      mean = lambda key, part: statistics.mean(f[key][part] for f in found)
      chosen = ", ".join(f"{f['min_entity_score']:.2f}" for f in found)
      lines.append(
          f"| {setting} | {dataset} | {len(found)} | {chosen} | "
          f"{_mean_std([f['test_at_0']['f1'] for f in found])} | "
          f"{_mean_std([f['test']['f1'] for f in found])} | "
          f"{mean('test', 'f1') - mean('test_at_0', 'f1'):+.2f} | "
          f"{mean('test', 'precision'):.2f} / {mean('test', 'recall'):.2f} |")
  return "\n".join(lines)


def scored_with_min_score_table(scores: Dict[str, dict]) -> str:
  """`tools/evaluate.py --min_entity_score=X --scores_out=NAME_seedK.json` files, {stem: the
  JSON}: one row per NAME (its seeds together) with the data file scored, each seed's minimum
  score and F1, and precision, recall and F1 over the seeds (mean ± std). Files without a
  minimum score (other probes' outputs) are left out."""
  groups: Dict[str, Dict[int, dict]] = {}
  for stem, found in scores.items():
    if "min_entity_score" in found and "micro" in found:
      match = re.fullmatch(r"(.*)_seed(\d+)", stem)
      name, seed = (match.group(1), int(match.group(2))) if match else (stem, 0)
      groups.setdefault(name, {})[seed] = found
  lines = ["| scores | data | seeds | minimum entity score | P | R | F1 | per-seed F1 |",
           "|---|---|---|---|---|---|---|---|"]
  for name, by_seed in sorted(groups.items()):
    found = [by_seed[s] for s in sorted(by_seed)]
    data = sorted({os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)
                   for f in found for path in f.get("provenance", {}).get("data_files", {})})
    part = lambda key: _mean_std([f["micro"][key] for f in found])
    minimums = ", ".join(f"{f['min_entity_score']:.2f}" for f in found)
    per_seed = ", ".join(f"{s}: {by_seed[s]['micro']['f1']:.2f}" for s in sorted(by_seed))
    lines.append(f"| {name} | {', '.join(data) or '-'} | {len(found)} | {minimums} | "
                 f"{part('precision')} | {part('recall')} | {part('f1')} | {per_seed} |")
  return "\n".join(lines)


def benchmark_table(bench: dict) -> str:
  """Markdown rows of a tools/benchmark_tagger.py JSON."""
  lines = [f"Matmul ceiling (float32 GEMM 2048^3): {bench['matmul_ceiling_gflops']:.1f} GFLOP/s.",
           "",
           "| batching | budget (tokens) | XLA | train tokens/s | train GFLOP/s (share of ceiling) "
           "| infer tokens/s | infer GFLOP/s (share) | padding | forward FLOPs/token |",
           "|---|---|---|---|---|---|---|---|---|"]
  for r in bench["model_only"]:
    head = f"| {r['batching']} | {r['batch_tokens'] or '-'} | {'yes' if r['jit_compile'] else 'no'} |"
    if "error" in r:
      lines.append(f"{head} fails: `{r['error'][:120]}` | | | | | |")
      continue
    lines.append(
        f"{head} {r['train_tokens_per_sec']:,.0f} | {r['train_gflops']:.1f} "
        f"({100 * r['train_fraction_of_ceiling']:.0f}%) | {r['infer_tokens_per_sec']:,.0f} | "
        f"{r['infer_gflops']:.1f} ({100 * r['infer_fraction_of_ceiling']:.0f}%) | "
        f"{100 * r['padding_fraction']:.0f}% | {r['forward_flops_per_token']['total'] / 1e6:.2f} M |")
  for name, tps in sorted(bench.get("whole_epochs_tokens_per_sec", {}).items()):
    lines.append("")
    lines.append(f"Whole epochs through tf.data (budget {bench['default_batch_tokens']}), "
                 f"{name.replace('_', ' ')}: " + ", ".join(f"{x:,.0f}" for x in tps) + " tokens/s")
  return "\n".join(lines)


# Test F1 on the same splits from the literature (DEVELOPERS.md): the paper (Sachan et al. 2018,
# as quoted by later papers), a plain BiLSTM-CRF, BioBERT; and the team's goal.
LITERATURE = {
    "ncbi_disease": {"paper": 87.34, "bilstm_crf": 85.8, "biobert": 89.7, "goal": 88.0},
    "bc5cdr": {"paper": None, "bilstm_crf": None, "biobert": None, "goal": 90.0},
    "bc2gm": {"paper": 81.69, "bilstm_crf": 80.5, "biobert": 84.7, "goal": 82.5},
    "jnlpba": {"paper": 75.03, "bilstm_crf": 73.5, "biobert": 77.5, "goal": 76.0},
}


def _test_f1s(rows: List[dict]) -> List[float]:
  return [r["test"]["micro"]["f1"] for r in rows if "test" in r]


# Every initialisation setting, keyed as in results/tagger_<key>/, with its display label; one
# table for the comparison's columns and the plots' legends.
SETTING_LABELS = {"random_init": "random init", "bilm_init": "BiLM init",
                  # issue #16: the 52M-token BiLM, as init only and with its frozen states
                  "bilm52m_init": "52M BiLM init",
                  "bilm52m_features": "52M BiLM init + features",
                  # the 384-unit BiLM on the 52M-token corpus, and random init at its sizes
                  "random_init_u384": "random init, 384 units",
                  "bilm52m_u384_init": "52M BiLM init, 384 units",
                  "random_init_traindev": "random init, train+devel",
                  "bilm_init_traindev": "BiLM init, train+devel",
                  "random_init_u384_traindev": "random init, 384 units, train+devel",
                  "bilm52m_u384_init_traindev": "52M BiLM init, 384 units, train+devel"}

# Later settings shown beside the paper's method in the comparison, once they have runs.
LATER_SETTINGS = tuple((f"tagger_{key}", label) for key, label in SETTING_LABELS.items()
                       if key not in ("random_init", "bilm_init"))


def comparison_table(runs: Dict[str, Dict[str, List[dict]]]) -> str:
  """Per dataset: test F1 of random and BiLM init (mean ± std, seeds), the gain, the
  literature's figures beside them, and how far the BiLM-init mean is from the paper and the
  goal; then a column for each of LATER_SETTINGS that has runs."""
  fmt = lambda v: "-" if v is None else f"{v:.2f}"
  later = [(s, title) for s, title in LATER_SETTINGS if runs.get(s)]
  lines = ["| dataset | random init | BiLM init | gain | paper | BiLSTM-CRF | BioBERT | goal | "
           "BiLM init vs paper | vs goal |" + "".join(f" {t} |" for _, t in later),
           "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(later)]
  random, bilm = runs.get("tagger_random_init", {}), runs.get("tagger_bilm_init", {})
  cell = lambda xs: f"{_mean_std(xs)} ({len(xs)})" if xs else "-"
  for dataset in sorted(set(random).union(bilm, *(runs[s] for s, _ in later))):
    r, b = _test_f1s(random.get(dataset, [])), _test_f1s(bilm.get(dataset, []))
    gain = (f"{statistics.mean(b) - statistics.mean(r):+.2f}" if r and b else "-")
    lit = LITERATURE.get(dataset, {})
    versus = lambda target: f"{statistics.mean(b) - target:+.2f}" if b and target else "-"
    lines.append(f"| {dataset} | {cell(r)} | {cell(b)} | {gain} | {fmt(lit.get('paper'))} | "
                 f"{fmt(lit.get('bilstm_crf'))} | {fmt(lit.get('biobert'))} | "
                 f"{fmt(lit.get('goal'))} | {versus(lit.get('paper'))} | "
                 f"{versus(lit.get('goal'))} |" +
                 "".join(f" {cell(_test_f1s(runs[s].get(dataset, [])))} |" for s, _ in later))
  return "\n".join(lines)


def data_efficiency_table(points: Dict[str, Dict[str, Dict[float, List[float]]]]) -> str:
  """{dataset: {init: {percent: [test F1...]}}} -> rows of test F1 by share of train."""
  pcts = sorted({p for by_init in points.values() for by_pct in by_init.values() for p in by_pct})
  lines = ["| dataset | init | " + " | ".join(f"{p:g}% of train" for p in pcts) + " |",
           "|---|---|" + "---|" * len(pcts)]
  for dataset, by_init in sorted(points.items()):
    for init, by_pct in sorted(by_init.items()):
      cells = [f"{_mean_std(by_pct[p])} ({len(by_pct[p])})" if p in by_pct else "-"
               for p in pcts]
      lines.append(f"| {dataset} | {init.replace('_', ' ')} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _history(seed_dir: str) -> List[dict]:
  """The epochs stored in `seed_dir`/history.jsonl ([] without one)."""
  path = os.path.join(seed_dir, "history.jsonl")
  if not os.path.exists(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def devel_f1_histories(results_dir: str, setting: str, dataset: str) -> List[List[float]]:
  """Devel F1 per epoch of each seed: results/<setting>/<dataset>/seed*/history.jsonl."""
  return [[r["devel_f1"] for r in _history(os.path.dirname(path))]
          for path in sorted(glob.glob(os.path.join(results_dir, setting, dataset, "seed*",
                                                    "history.jsonl")))]


def padded_runs(runs: List[List[float]]) -> List[List[float]]:
  """Every run as long as the longest; a run that stopped early keeps its last value."""
  n = max(len(r) for r in runs)
  return [r + [r[-1]] * (n - len(r)) for r in runs]


def mean_curve(runs: List[List[float]]) -> List[float]:
  """Mean over seeds per epoch (see `padded_runs`)."""
  return [statistics.mean(col) for col in zip(*padded_runs(runs))]


def random_baseline(init: str) -> str:
  """The random-init setting with `init`'s encoder sizes: a `_u<units>` part (e.g.
  bilm52m_u384_init -> random_init_u384) names sizes other than the default."""
  units = re.search(r"_(u\d+)(?=_|$)", init)
  return "random_init" + (f"_{units.group(1)}" if units else "")


def convergence_table(histories: Dict[str, Dict[str, List[List[float]]]]) -> str:
  """{dataset: {init: [devel F1 per epoch, per seed]}} -> how fast each init learns.

  Per init: mean devel F1 after epochs 1 and 5, the best of the mean curve and its epoch, and
  the first epoch at which the mean curve reaches the best of random init at the same encoder
  sizes (`random_baseline`; epochs count from 1).
  """
  lines = ["| dataset | init | seeds | devel F1 after 1 epoch | after 5 | best (epoch) | "
           "first epoch at random init's best (same sizes) |", "|---|---|---|---|---|---|---|"]
  for dataset, by_init in sorted(histories.items()):
    curves = {init: mean_curve(runs) for init, runs in by_init.items() if runs}
    for init, c in curves.items():
      at = lambda e: f"{c[e - 1]:.2f}" if len(c) >= e else "-"
      reach, baseline = "-", random_baseline(init)
      if baseline in curves:
        target = max(curves[baseline])
        reach = next((str(e) for e, v in enumerate(c, start=1) if v >= target), "never")
      lines.append(f"| {dataset} | {init.replace('_', ' ')} | {len(by_init[init])} | {at(1)} | "
                   f"{at(5)} | {max(c):.2f} ({c.index(max(c)) + 1}) | {reach} |")
  return "\n".join(lines)


def bilm_settings_table(bench: dict) -> str:
  """benchmark_bilm --settings output -> one row per setting: speed (over the steps after the
  warm-up), its ratio to the first row, and validation perplexity after the same steps."""
  rows = bench["rows"]
  base = rows[0]["train_tokens_per_sec"]
  lines = ["| precision | optimizer | negatives | batch (tokens) | CharCNN over | LSTMs | "
           "sampled loss | timed steps | train tokens/s | speed vs first row | "
           "valid ppl forward | valid ppl backward |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in rows:
    over = "distinct tokens" if r.get("unique_chars") else "every token"
    lstms = "hoisted" if r.get("hoisted_lstm") else "Keras"
    loss = "tf.nn" if r.get("tf_softmax") else "ours"
    lines.append(
        f"| {r['precision']} | {r['optimizer']} | {r['num_sampled']} | {r['batch_tokens']:,} | "
        f"{over} | {lstms} | {loss} | "
        f"{r['timed_steps']} | {r['train_tokens_per_sec']:,.0f} | "
        f"{r['train_tokens_per_sec'] / base:.2f}x | {r['valid_perplexity_forward']:.1f} | "
        f"{r['valid_perplexity_backward']:.1f} |")
  return "\n".join(lines)


def vocab_coverage_table(coverage: dict) -> str:
  """tools/vocab_coverage.py output -> one row per vocabulary, one column per CoNLL file:
  the share of its tokens (normalised as the model normalises them) the vocabulary has."""
  columns = list(coverage["rows"][0]["coverage"])
  name = lambda path: "/".join(path.split("/")[-2:])
  lines = ["| vocabulary | words | " + " | ".join(name(c) for c in columns) + " |",
           "|---|---|" + "---|" * len(columns)]
  for row in coverage["rows"]:
    cells = " | ".join(f"{100 * row['coverage'][c]:.1f}%" for c in columns)
    lines.append(f"| {row['vocabulary']} | {row['size']:,} | {cells} |")
  return "\n".join(lines)
