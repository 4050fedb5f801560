"""Splitting unlabeled text into shuffled shards plus a held-out validation shard.

Input: text files (plain, or gzip if the name ends in `.gz`), one tokenised
sentence per line, tokens separated by whitespace; or, with `tokenize=True`,
raw text (a document or paragraph per line) that is split into sentences and
tokenised by `tokenizer.py`, the tokenizer inference uses on raw text, so
pretraining text and tagged text are tokenised alike. Memory stays bounded by
one shard whatever the corpus size: pass 1 streams every line to a random
shard (seeded), pass 2 shuffles each shard in memory. Pick `num_shards` so a
shard is a few hundred MB at most.

Line handling (counted in the manifest, never silent):
  * non-UTF-8 lines are skipped (the first few are logged with file:line);
  * blank lines are skipped;
  * whitespace runs become one space;
  * tokens longer than `max_chars_per_token` characters are cut to that length;
  * lines longer than `max_tokens_per_line` tokens are split into several lines.

The output directory is written under a temporary name and renamed when
complete, so a crash never leaves a half-written shard set under its name.
"""
import dataclasses
import os
import random
from typing import Dict, Iterator, List, Sequence, Tuple

from absl import logging

from tf_bilm_ner import files, provenance
from tf_bilm_ner.data import tokenizer
from tf_bilm_ner.errors import UserError, located

MAX_LOGGED_BAD_LINES = 5


class CorpusError(UserError):
  """Unusable corpus input; the message names the file (and line, where one applies)."""


@dataclasses.dataclass
class ShardStats:
  input_lines: int = 0
  lines_written: int = 0
  train_lines: int = 0
  valid_lines: int = 0
  tokens_written: int = 0
  blank_lines_skipped: int = 0
  non_utf8_lines_skipped: int = 0
  long_lines_split: int = 0
  long_tokens_cut: int = 0
  sentences_split: int = 0        # with tokenize: sentences found in the raw lines


def expand_inputs(patterns: Sequence[str]) -> List[str]:
  """Globs -> sorted, de-duplicated file list; a pattern matching nothing is an error."""
  return files.expand_inputs(patterns, error=located(CorpusError))


def read_lines(path: str, stats: ShardStats) -> Iterator[Tuple[int, str]]:
  """(line number, decoded line) for each UTF-8 line; bad lines are counted and skipped."""
  def skip(lineno: int, problem: str) -> None:
    stats.input_lines += 1
    stats.non_utf8_lines_skipped += 1
    if stats.non_utf8_lines_skipped <= MAX_LOGGED_BAD_LINES:
      logging.warning("%s:%d: %s; line skipped", path, lineno, problem)

  for lineno, line in files.read_lines(path, error=located(CorpusError), on_bad_line=skip):
    stats.input_lines += 1
    yield lineno, line


def clean_line(line: str, max_tokens: int, max_chars: int, stats: ShardStats) -> List[str]:
  """One input line -> zero or more output lines (see the module docstring)."""
  tokens = line.split()
  if not tokens:
    stats.blank_lines_skipped += 1
    return []
  for i, tok in enumerate(tokens):
    if len(tok) > max_chars:
      tokens[i] = tok[:max_chars]
      stats.long_tokens_cut += 1
  if len(tokens) > max_tokens:
    stats.long_lines_split += 1
  return [" ".join(tokens[i:i + max_tokens]) for i in range(0, len(tokens), max_tokens)]


def _lines_out(line: str, tokenize: bool, max_tokens: int, max_chars: int,
               stats: ShardStats) -> Iterator[str]:
  if not tokenize:
    yield from clean_line(line, max_tokens, max_chars, stats)
    return
  sentences = tokenizer.tokenize_sentences(line)
  if not sentences:
    stats.blank_lines_skipped += 1
  for sentence in sentences:
    stats.sentences_split += 1
    yield from clean_line(" ".join(t.text for t in sentence), max_tokens, max_chars, stats)


def shard_name(split: str, index: int, count: int) -> str:
  return f"{split}-{index:05d}-of-{count:05d}.txt"


def _write_shards(out_dir: str, inputs: Sequence[str], kept: set, num_shards: int,
                  valid_fraction: float, tokenize: bool, max_tokens_per_line: int,
                  max_chars_per_token: int, stats: ShardStats, rng: random.Random) -> None:
  """Pass 1 deals each output line to a random train shard (or to validation); pass 2
  shuffles the lines within each train shard (one shard in memory at a time)."""
  outs = [open(os.path.join(out_dir, shard_name("train", i, num_shards)), "w", encoding="utf-8")
          for i in range(num_shards)]
  valid = open(os.path.join(out_dir, shard_name("valid", 0, 1)), "w", encoding="utf-8")
  try:
    for path in inputs:
      for _, line in read_lines(path, stats):
        for out in _lines_out(line, tokenize and path not in kept, max_tokens_per_line,
                              max_chars_per_token, stats):
          if rng.random() < valid_fraction:
            valid.write(out + "\n")
            stats.valid_lines += 1
          else:
            outs[rng.randrange(num_shards)].write(out + "\n")
            stats.train_lines += 1
          stats.tokens_written += out.count(" ") + 1
  finally:
    for f in outs + [valid]:
      f.close()
  stats.lines_written = stats.train_lines + stats.valid_lines
  if stats.train_lines == 0:
    raise CorpusError(f"{', '.join(inputs)}: no usable line (blank or non-UTF-8 only)")
  for i in range(num_shards):
    path = os.path.join(out_dir, shard_name("train", i, num_shards))
    with open(path, encoding="utf-8") as f:
      lines = f.readlines()
    rng.shuffle(lines)
    with open(path, "w", encoding="utf-8") as f:
      f.writelines(lines)


def shard_corpus(inputs: Sequence[str], output_dir: str, num_shards: int,
                 valid_fraction: float, seed: int, max_tokens_per_line: int = 256,
                 max_chars_per_token: int = 50, overwrite: bool = False,
                 tokenize: bool = False, keep_tokens: Sequence[str] = ()) -> Dict:
  """Writes `train-*-of-N.txt`, `valid-00000-of-00001.txt` and `manifest.json`.

  With `tokenize`, inputs matching one of the globs `keep_tokens` are taken as already
  tokenised (one sentence per line, whitespace-separated), as without `tokenize`: for
  text in a benchmark's own tokenisation, whose tokens the tagger is trained on.

  Returns:
    The manifest: inputs (path, sha256 prefix), counts, arguments.
  Raises:
    CorpusError: no input, unreadable input, no usable line, or an existing
      `output_dir` without `overwrite`.
  """
  if num_shards < 1 or not 0.0 <= valid_fraction < 1.0:
    raise CorpusError(f"need num_shards >= 1 and 0 <= valid_fraction < 1, got {num_shards}, "
                      f"{valid_fraction}")
  files_in = expand_inputs(inputs)
  kept = set(expand_inputs(keep_tokens)) if keep_tokens else set()
  if kept - set(files_in):
    raise CorpusError(f"{sorted(kept - set(files_in))[0]}: in keep_tokens but not an input")
  if os.path.exists(output_dir) and not overwrite:
    raise CorpusError(f"{output_dir}: exists; pass overwrite to replace it")
  stats, rng = ShardStats(), random.Random(seed)
  with files.atomic_directory(output_dir, overwrite=True) as tmp:
    _write_shards(tmp, files_in, kept, num_shards, valid_fraction, tokenize, max_tokens_per_line,
                  max_chars_per_token, stats, rng)
    manifest = {"inputs": [{"path": p, "sha256_prefix": provenance.sha256_prefix(p)}
                           for p in files_in],
                "num_shards": num_shards, "valid_fraction": valid_fraction, "seed": seed,
                "max_tokens_per_line": max_tokens_per_line,
                "max_chars_per_token": max_chars_per_token, "tokenize": tokenize,
                "tokens_kept_as_given": sorted(kept),
                "stats": dataclasses.asdict(stats)}
    files.write_json_atomic(os.path.join(tmp, "manifest.json"), manifest)
  logging.info("sharded %d input lines into %d train shards (%d lines) and a valid shard (%d "
               "lines) in %s; skipped %d blank and %d non-UTF-8 lines; split %d long lines; cut "
               "%d long tokens", stats.input_lines, num_shards, stats.train_lines,
               stats.valid_lines, output_dir, stats.blank_lines_skipped,
               stats.non_utf8_lines_skipped, stats.long_lines_split, stats.long_tokens_cut)
  return manifest


def train_tokens(manifest: dict) -> int:
  """Tokens in the train shards of a `manifest.json` (the valid shard's share taken out)."""
  stats = manifest["stats"]
  return int(stats["tokens_written"] * stats["train_lines"] / max(stats["lines_written"], 1))
