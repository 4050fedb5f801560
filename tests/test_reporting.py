"""Results tables: mean and sample standard deviation over seeds."""
import json
import os

import tensorflow as tf

from tf_bilm_ner.experiments import plots
from tf_bilm_ner.experiments import reporting
from tf_bilm_ner.experiments import bilm_speed


def _scores(seed, devel, test):
  micro = lambda f1: {"micro": {"precision": f1 + 1, "recall": f1 - 1, "f1": f1},
                      "per_type": {"Chem": {"f1": f1 + 2}, "Dis": {"f1": f1 - 2}}}
  return {"devel": micro(devel), "test": micro(test), "best_epoch": seed + 10,
          "provenance": {"seed": seed, "wall_time_secs": 120.0}}


class ReportingTest(tf.test.TestCase):

  def test_mean_and_std_over_seeds(self):
    root = self.get_temp_dir()
    for seed, (devel, test) in {1: (80.0, 81.0), 2: (82.0, 83.0), 3: (84.0, 85.0)}.items():
      d = os.path.join(root, "random_init", "ncbi", f"seed{seed}")
      os.makedirs(d)
      with open(os.path.join(d, "scores.json"), "w") as f:
        json.dump(_scores(seed, devel, test), f)
      if seed < 3:  # epoch speeds 1000, 2000 and 1500 (seed 3 has no history): median 1500
        with open(os.path.join(d, "history.jsonl"), "w") as f:
          for tps in ([1000.0, 2000.0] if seed == 1 else [1500.0]):
            f.write(json.dumps({"train_tokens_per_sec": tps}) + "\n")
    runs = reporting.load_runs(root)
    self.assertLen(runs["random_init"]["ncbi"], 3)
    row = reporting.markdown_table(runs).splitlines()[2]
    self.assertEqual(row, "| random_init | ncbi | 3 | 82.00 ± 2.00 | 84.00 ± 2.00 | 82.00 ± 2.00 | "
                          "83.00 ± 2.00 | 1: 81.00, 2: 83.00, 3: 85.00 | Chem 85.00, Dis 81.00 | "
                          "11, 12, 13 | 2.0 min | 1,500 |")

  def test_runs_trained_on_devel_have_no_devel_column(self):
    root = self.get_temp_dir()
    for seed, test in ((1, 86.0), (2, 88.0)):
      d = os.path.join(root, "tagger_bilm_init_traindev", "ncbi_disease", f"seed{seed}")
      os.makedirs(d)
      scores = _scores(seed, 0.0, test)
      del scores["devel"]
      scores["train_on_devel"] = True
      with open(os.path.join(d, "scores.json"), "w") as f:
        json.dump(scores, f)
    runs = reporting.load_runs(root)
    row = reporting.markdown_table(runs).splitlines()[2]
    self.assertStartsWith(row, "| tagger_bilm_init_traindev | ncbi_disease | 2 | - | ")
    self.assertIn("| 87.00 ± 1.41 |", row)
    self.assertIn(" | 11 (last), 12 (last) | ", row)  # no best epoch: the last one
    table = reporting.comparison_table(runs).splitlines()
    self.assertIn("BiLM init, train+devel", table[0])
    self.assertEndsWith(table[2], " 87.00 ± 1.41 (2) |")

  def test_entity_threshold_table(self):
    """Only the runs that report a devel-chosen threshold, hand-computed means."""
    found = lambda score, at_0, test, p, r: {"min_entity_score": score,
                                             "test_at_0": {"f1": at_0},
                                             "test": {"f1": test, "precision": p, "recall": r}}
    rows = [dict(_scores(1, 80.0, 81.0), entity_threshold=found(0.75, 81.0, 82.0, 84.0, 80.0)),
            dict(_scores(2, 80.0, 83.0), entity_threshold=found(0.5, 83.0, 83.5, 86.0, 81.0)),
            _scores(3, 80.0, 85.0)]
    table = reporting.entity_threshold_table(
        {"bilm": {"bc5cdr": rows}, "random": {"bc5cdr": rows[2:]}}).splitlines()
    self.assertLen(table, 3)
    self.assertEqual(table[2], "| bilm | bc5cdr | 2 | 0.75, 0.50 | 82.00 ± 1.41 | "
                               "82.75 ± 1.06 | +0.75 | 85.00 / 80.50 |")

  def test_scored_with_min_score_table(self):
    """evaluate.py outputs grouped by name across seeds, in seed order; a probe's own output
    (no minimum score) left out; hand-computed means and standard deviations."""
    scored = lambda score, p, r, f1: {
        "min_entity_score": score, "micro": {"precision": p, "recall": r, "f1": f1},
        "provenance": {"data_files": {"../shared/data/BC5CDR-IOB/test.tsv": "e41a"}}}
    table = reporting.scored_with_min_score_table({
        "bc5cdr_traindev_seed3": scored(0.65, 88.0, 85.0, 86.0),
        "bc5cdr_traindev_seed1": scored(0.75, 90.0, 84.0, 87.0),
        "bc5cdr_u384_seed1": {"chosen": 0.75, "test_f1_chosen": 85.8},
        "one": dict(scored(0.5, 80.0, 70.0, 75.0), provenance={})}).splitlines()
    self.assertLen(table, 4)
    self.assertEqual(table[2], "| bc5cdr_traindev | BC5CDR-IOB/test.tsv | 2 | 0.75, 0.65 | "
                               "89.00 ± 1.41 | 84.50 ± 0.71 | 86.50 ± 0.71 | 1: 87.00, 3: 86.00 |")
    self.assertEqual(table[3], "| one | - | 1 | 0.50 | 80.00 | 70.00 | 75.00 | 0: 75.00 |")

  def test_data_efficiency_points(self):
    root = self.get_temp_dir()
    layout = {("data_efficiency_bilm_init", "ncbi_f10"): [70.0, 72.0],
              ("data_efficiency_bilm_init", "ncbi_f50"): [80.0],
              ("tagger_bilm_init", "ncbi"): [85.0, 86.0],
              ("tagger_random_init", "ncbi"): [81.0]}  # no fractions: not a curve
    for (setting, dataset), f1s in layout.items():
      for seed, f1 in enumerate(f1s, start=1):
        d = os.path.join(root, setting, dataset, f"seed{seed}")
        os.makedirs(d)
        with open(os.path.join(d, "scores.json"), "w") as f:
          json.dump(_scores(seed, f1, f1), f)
    points = plots.data_efficiency_points(root, "ncbi")
    self.assertEqual(points,
                     {"bilm_init": {10.0: [70.0, 72.0], 50.0: [80.0], 100.0: [85.0, 86.0]}})
    self.assertEqual(reporting.data_efficiency_table({"ncbi": points}).splitlines()[2],
                     "| ncbi | bilm init | 71.00 ± 1.41 (2) | 80.00 (1) | 85.50 ± 0.71 (2) |")
    # Random 81.00 (1 seed) against BiLM 85.50 ± 0.71; the paper's NCBI-disease figure 87.34.
    row = reporting.comparison_table(reporting.load_runs(root)).splitlines()[2]
    self.assertEqual(row, "| ncbi | 81.00 (1) | 85.50 ± 0.71 (2) | +4.50 | - | - | - | - | - | - |")
    runs = {"tagger_random_init": {"ncbi_disease": [_scores(1, 80.0, 81.0)]},
            "tagger_bilm_init": {"ncbi_disease": [_scores(1, 84.0, 86.0)]}}
    self.assertEqual(reporting.comparison_table(runs).splitlines()[2],
                     "| ncbi_disease | 81.00 (1) | 86.00 (1) | +5.00 | 87.34 | 85.80 | 89.70 | "
                     "88.00 | -1.34 | -2.00 |")
    # A later setting with runs gets its own column (and only then).
    runs["tagger_bilm52m_features"] = {"ncbi_disease": [_scores(1, 85.0, 87.0),
                                                        _scores(2, 85.0, 88.0)]}
    table = reporting.comparison_table(runs).splitlines()
    self.assertTrue(table[0].endswith("| vs goal | 52M BiLM init + features |"), table[0])
    self.assertTrue(table[2].endswith("| -2.00 | 87.50 ± 0.71 (2) |"), table[2])

  def test_convergence_table(self):
    root = self.get_temp_dir()
    curves = {("tagger_random_init", 1): [50.0, 60.0, 70.0, 75.0, 76.0, 80.0, 79.0],
              ("tagger_random_init", 2): [40.0, 60.0, 72.0],  # stopped early: keeps 72
              ("tagger_bilm_init", 1): [70.0, 74.0, 78.0]}
    for (setting, seed), f1s in curves.items():
      d = os.path.join(root, setting, "ncbi", f"seed{seed}")
      os.makedirs(d)
      with open(os.path.join(d, "history.jsonl"), "w") as f:
        f.writelines(json.dumps({"epoch": e, "devel_f1": v}) + "\n" for e, v in enumerate(f1s))
    histories = {"ncbi": {i: reporting.devel_f1_histories(root, f"tagger_{i}", "ncbi")
                          for i in ("random_init", "bilm_init")}}
    self.assertEqual(histories["ncbi"]["random_init"][1], [40.0, 60.0, 72.0])
    # Random mean curve: 45, 60, 71, 73.5, 74, 76, 75.5 (best 76 at epoch 6); BiLM reaches
    # 76 at epoch 3 and has no epoch 5.
    rows = reporting.convergence_table(histories).splitlines()[2:]
    self.assertEqual(rows, ["| ncbi | random init | 2 | 45.00 | 74.00 | 76.00 (6) | 6 |",
                            "| ncbi | bilm init | 1 | 70.00 | - | 78.00 (3) | 3 |"])
    # A wider encoder's BiLM init is measured against random init at its own sizes.
    histories["ncbi"]["random_init_u384"] = [[60.0, 77.0]]
    histories["ncbi"]["bilm52m_u384_init"] = [[75.0, 76.0, 77.5]]
    rows = reporting.convergence_table(histories).splitlines()[4:]
    self.assertEqual(rows, ["| ncbi | random init u384 | 1 | 60.00 | - | 77.00 (2) | 2 |",
                            "| ncbi | bilm52m u384 init | 1 | 75.00 | - | 77.50 (3) | 3 |"])
    for i in ("random_init", "random_init_u384"):
      del histories["ncbi"][i]
    self.assertEqual(reporting.convergence_table(histories).splitlines()[2],
                     "| ncbi | bilm init | 1 | 70.00 | - | 78.00 (3) | - |")
    self.assertEqual(reporting.random_baseline("bilm52m_u384_features"), "random_init_u384")
    self.assertEqual(reporting.random_baseline("bilm52m_features"), "random_init")

  def test_bilm_settings_and_vocab_coverage_tables(self):
    row = lambda opt, tps, ppl: {"precision": "float32", "optimizer": opt, "num_sampled": 1024,
                                 "batch_tokens": 4096, "timed_steps": 190,
                                 "train_tokens_per_sec": tps, "valid_perplexity_forward": ppl,
                                 "valid_perplexity_backward": ppl + 100}
    table = reporting.bilm_settings_table({"rows": [row("adam", 5000.0, 900.0),
                                                    row("lazy_adam", 7500.0, 800.04),
                                                    dict(row("lazy_adam", 9000.0, 801.0),
                                                         unique_chars=True),
                                                    dict(row("lazy_adam", 10000.0, 801.0),
                                                         unique_chars=True, hoisted_lstm=True,
                                                         tf_softmax=True)]})
    self.assertEqual(table.splitlines()[3:], [
        "| float32 | lazy_adam | 1024 | 4,096 | every token | Keras | ours | 190 | 7,500 | "
        "1.50x | 800.0 | 900.0 |",
        "| float32 | lazy_adam | 1024 | 4,096 | distinct tokens | Keras | ours | 190 | 9,000 | "
        "1.80x | 801.0 | 901.0 |",
        "| float32 | lazy_adam | 1024 | 4,096 | distinct tokens | hoisted | tf.nn | 190 | "
        "10,000 | 2.00x | 801.0 | 901.0 |"])
    parse = bilm_speed.BiLMSetting.parse
    self.assertFalse(parse("float32:lazy_adam:1024:4096").unique_chars)
    self.assertTrue(parse("float32:lazy_adam:1024:4096:unique").unique_chars)
    both = parse("float32:lazy_adam:1024:4096:hoisted:unique")
    self.assertTrue(both.unique_chars and both.hoisted_lstm)
    self.assertFalse(parse("float32:lazy_adam:1024:4096:unique").hoisted_lstm)
    self.assertTrue(parse("float32:adam:1024:4096:tf_softmax").tf_softmax)
    for bad in ("float32:lazy_adam:1024", "float32:lazy_adam:1024:4096:uniq",
                "float32:lazy_adam:1024:4096:unique:unique"):
      with self.assertRaisesRegex(ValueError, "optionally followed by any of :unique"):
        parse(bad)
    coverage = {"rows": [{"vocabulary": "v.txt", "size": 50000,
                          "coverage": {"../d/NCBI/train.tsv": 0.99586, "../d/J/train.tsv": 0.9}}]}
    self.assertEqual(reporting.vocab_coverage_table(coverage).splitlines(),
                     ["| vocabulary | words | NCBI/train.tsv | J/train.tsv |", "|---|---|---|---|",
                      "| v.txt | 50,000 | 99.6% | 90.0% |"])


if __name__ == "__main__":
  tf.test.main()
