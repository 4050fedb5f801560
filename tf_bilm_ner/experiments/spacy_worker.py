"""spaCy's NER timed one sentence per call: the same-hour reference of
`tools/profile_serving.py --spacy_python` (`serving_profile.SpacyReference` starts this file).

It runs under another Python, one with spaCy installed (the project's environment does not
need it), and imports nothing from tf_bilm_ner. Protocol: one JSON line per request on stdin,
a list of sentences (each a list of tokens); the answer is one JSON line on stdout, the
milliseconds of `ner(doc)` for each sentence, the Doc built from the tokens beforehand (as
the tagger's timed calls get their token tensors ready-made). The first line out is spaCy's
version and the component's config.

The model: `spacy.blank("en")` with the `ner` component in spaCy's default configuration (its
own HashEmbedCNN tok2vec, width 96, depth 4, and the transition-based parser, one action per
token), initialised with one label and not trained: no trained spaCy pipeline can be
downloaded here, and an untrained one runs the same arithmetic per token as a trained one of
that architecture.
"""
import json
import sys
import time


def _model():
  import spacy  # pylint: disable=g-import-not-at-top
  nlp = spacy.blank("en")
  ner = nlp.add_pipe("ner")
  ner.add_label("Disease")
  nlp.initialize()
  return spacy, nlp, ner


def main():
  spacy, nlp, ner = _model()
  from spacy.tokens import Doc  # pylint: disable=g-import-not-at-top
  info = {"spacy": spacy.__version__, "ner_config": nlp.config["components"]["ner"]}
  print(json.dumps(info, default=str), flush=True)
  for line in sys.stdin:
    times = []
    for words in json.loads(line):
      doc = Doc(nlp.vocab, words=words)
      start = time.perf_counter()
      ner(doc)
      times.append(1000.0 * (time.perf_counter() - start))
    print(json.dumps(times), flush=True)


if __name__ == "__main__":
  main()
