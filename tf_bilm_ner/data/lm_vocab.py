"""Language-model vocabularies from corpus shards, with sentencepiece.

Words: a sentencepiece `model_type=word` model trained on a random sample of
`sample_lines` normalised lines (lowercase, digits -> 0, exactly as the graph
normalises; see `vocab.normalize_words`), so memory is bounded on any corpus.
Its pieces, most frequent first, become the word vocabulary after the
reserved entries `<pad>`, `<unk>`, `<s>`, `</s>`. sentencepiece runs with the
identity normaliser (no NFKC: tokens must stay byte-identical to the text the
graph sees) and `max_sentencepiece_length` raised so long biomedical words
are not excluded.

Characters: every character of every line of the shards, streamed (a Counter
of characters is small whatever the corpus), kept if seen `min_char_count` times.
"""
import collections
import io
import random
from typing import Iterator, List, Sequence, Tuple

import sentencepiece as spm

from tf_bilm_ner.data import vocab as vocab_lib

BOS, EOS = "<s>", "</s>"
LM_RESERVED = (vocab_lib.PAD, vocab_lib.UNK, BOS, EOS)
BOS_ID, EOS_ID = 2, 3
_NORMALIZE_BATCH = 4096


def _lines(files: Sequence[str]) -> Iterator[str]:
  for path in files:
    with open(path, encoding="utf-8") as f:
      for line in f:
        line = line.strip()
        if line:
          yield line


def _normalised(lines: List[str]) -> Iterator[str]:
  for i in range(0, len(lines), _NORMALIZE_BATCH):
    yield from vocab_lib.normalize_word_list(lines[i:i + _NORMALIZE_BATCH])


def build_lm_vocabularies(files: Sequence[str], max_words: int, sample_lines: int = 500_000,
                          min_char_count: int = 1, seed: int = 1
                          ) -> Tuple[vocab_lib.Vocabulary, vocab_lib.Vocabulary]:
  """Word and character vocabularies from sharded text files (see module docstring)."""
  rng = random.Random(seed)
  sample: List[str] = []
  chars: collections.Counter = collections.Counter()
  seen = 0
  for line in _lines(files):  # reservoir sample of lines, and all characters
    chars.update(line.replace(" ", ""))
    seen += 1
    if len(sample) < sample_lines:
      sample.append(line)
    else:
      j = rng.randrange(seen)
      if j < sample_lines:
        sample[j] = line
  if not sample:
    raise ValueError(f"no text in {list(files)[:3]}...")
  model = io.BytesIO()
  spm.SentencePieceTrainer.train(
      sentence_iterator=_normalised(sample), model_writer=model, model_type="word",
      vocab_size=max_words - len(LM_RESERVED) + 1, hard_vocab_limit=False,
      normalization_rule_name="identity", character_coverage=1.0, max_sentencepiece_length=256,
      split_digits=False, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2,
      num_threads=2)
  sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
  words = []
  for i in range(sp.get_piece_size()):
    if sp.is_unknown(i) or sp.is_control(i):
      continue
    piece = sp.id_to_piece(i).lstrip("\u2581")
    if piece and piece not in LM_RESERVED:
      words.append(piece)
  words = list(LM_RESERVED) + list(dict.fromkeys(words))[:max_words - len(LM_RESERVED)]
  return (vocab_lib.Vocabulary(words, reserved=LM_RESERVED),
          vocab_lib.Vocabulary.build(chars, min_count=min_char_count))
