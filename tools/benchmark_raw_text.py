"""Raw text through `load_tagger`, as a user runs it: F1 against the CoNLL score, and speed.

  python tools/benchmark_raw_text.py --model=disease --out=results/raw_text/disease.json

Documents are rebuilt from --data (the NCBI-disease test set by default): its sentences,
detokenised, in --documents groups of consecutive sentences (the corpus's 100 abstracts;
their boundaries are not in the CoNLL file). Measured, for --model:
  - span F1 of `load_tagger(model)` on the documents' text against the gold spans, beside
    the same SavedModel's conlleval F1 on the gold tokens and sentences;
  - documents/s of `tagger(all documents)` (Python tokenisation and sentence splitting
    included), and single-sentence latency through `serving_default` and through
    `tagger(sentence)`;
  - with --several (e.g. "disease,bc5cdr,gene"): one `load_tagger("a,b,c")` pass over the
    documents against the same models one after another.
"""
from tf_bilm_ner import cli  # first: it quiets TensorFlow's start-up logs

import os
import time

from absl import app, flags

from tf_bilm_ner import files, provenance
from tf_bilm_ner.experiments import raw_text
from tf_bilm_ner.resources import NCBI_DISEASE_DIR

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "disease", "One model: a shipped tagger's name or a SavedModel.")
flags.DEFINE_string("data", os.path.join(NCBI_DISEASE_DIR, "test.tsv"),
                    "CoNLL test sentences, in document order.")
flags.DEFINE_integer("documents", 100, "Documents the sentences are grouped into.")
flags.DEFINE_list("several", [], "Models for the several-models timing (optional).")
flags.DEFINE_integer("latency_calls", 1000, "Single-sentence calls for the latency percentiles.")
flags.DEFINE_float("min_seconds", 20.0, "Time each throughput measurement at least this long.")
flags.DEFINE_string("out", None, "Write the results JSON here.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.time()
  report = raw_text.benchmark(FLAGS.model, FLAGS.data, FLAGS.documents, FLAGS.several,
                              FLAGS.latency_calls, FLAGS.min_seconds)
  report["provenance"] = provenance.record([FLAGS.data], started=started)
  if FLAGS.out:
    files.write_json_atomic(FLAGS.out, report)


def run():
  cli.run(main)


if __name__ == "__main__":
  run()
