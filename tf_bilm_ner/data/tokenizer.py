"""Raw text -> sentences -> tokens, keeping character offsets into the input.

Tokens follow the conventions of the benchmark data (MTL-Bioinformatics-2016
/ GENIA style): a token is a maximal run of letters and digits, and every
other non-space character is a token of its own. So "IL-2-induced" is
`IL - 2 - induced`, "0.5%" is `0 . 5 %`, "(APC)" is `( APC )`. For every
token `text[start:end] == token`, for any Unicode input (underscore and
combining marks count as "other" characters, as in the data).

Sentences end at ".", "!" or "?" followed by white space and then an
upper-case letter (Unicode category Lu), a decimal digit (Nd) or an opening
bracket/quote, except after known abbreviations ("e.g.", "i.e.", "et al.",
"Fig.", "vs.", ...), inside brackets (the last bracket token of the block is
an opening one, at most `MAX_BRACKET_TOKENS` tokens back) and between digits
("2.5"). A lower-case word after the period never starts a sentence,
which keeps species names ("E. coli", "S. aureus") together, unless it looks
like a gene or a name ("mtDNA", "p53", "beta", "von") and follows a word. A blank line
always ends a sentence.
"""
import re
import unicodedata
from typing import Iterator, List, NamedTuple, Tuple

_TOKEN = re.compile(r"[^\W_]+|\S")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
ENDERS = frozenset(".!?")
OPENERS = frozenset("([{\"'")
OPEN_BRACKETS = frozenset("([{")
CLOSERS = frozenset(")]}")
MAX_BRACKET_TOKENS = 60
# Lower-cased words that, followed by ".", do not end a sentence.
ABBREVIATIONS = frozenset("""
al approx ca cf co corp dr eds eq eqs etc fig figs inc jr ltd mr mrs ms no nos nr pp prof ref
refs resp sr st suppl tab vol vs wt""".split())

# Lower-case words that often start a biomedical sentence.
LOWER_STARTS = frozenset("""
alpha beta gamma delta epsilon kappa lambda sigma omega de van von""".split())


class Token(NamedTuple):
  text: str
  start: int  # offset of the first character in the input string
  end: int    # offset one past the last character


def tokenize(text: str, offset: int = 0) -> List[Token]:
  """Tokens of `text`; offsets are into `text` plus `offset`."""
  return [Token(m.group(), m.start() + offset, m.end() + offset) for m in _TOKEN.finditer(text)]


def _upper_or_digit(c: str) -> bool:
  return unicodedata.category(c) in ("Lu", "Nd")


def _ends_sentence(tokens: List[Token], i: int, inside: bool) -> bool:
  """Whether a sentence ends after tokens[i] (an ENDERS token)."""
  if i + 1 >= len(tokens) or tokens[i + 1].start == tokens[i].end:
    return False                     # "2.5", "e.g", or the text's last token
  nxt = tokens[i + 1].text
  prev = tokens[i - 1] if i else None
  if not (_upper_or_digit(nxt[0]) or nxt[0] in OPENERS):
    # Lower-case sentence starts: "mtDNA", "p53", "beta-Globin", "von Willebrand"
    # (not after a single letter: "E. coli").
    lower_start = any(_upper_or_digit(c) for c in nxt) or nxt in LOWER_STARTS
    if not (lower_start and prev is not None and len(prev.text) > 1):
      return False                   # "E. coli", "... were used. and"
  if tokens[i].text != ".":
    return not inside
  if prev is None:
    return False
  if prev.end == tokens[i].start:
    word = prev.text.lower()
    if word in ABBREVIATIONS:
      return False
    # "e.g.", "i.e.", "U.S.": a letter right after another period.
    if len(prev.text) == 1 and i >= 2 and tokens[i - 2].text == "." and \
        tokens[i - 2].end == prev.start:
      return False
    if len(prev.text) == 1 and unicodedata.category(prev.text) == "Ll":
      return False                   # "cf. c." style single lower-case letters
  return not inside


def split_sentences(text: str) -> List[Tuple[int, int]]:
  """(start, end) character spans of the sentences of `text`, without outer white space."""
  spans = []
  for block in _blocks(text):
    tokens = tokenize(text[block[0]:block[1]], offset=block[0])
    start, last_open, last_close = 0, -1, -1
    for i, tok in enumerate(tokens):
      if tok.text in OPEN_BRACKETS:
        last_open = i
      elif tok.text in CLOSERS:
        last_close = i
      inside = last_open > last_close and i - last_open <= MAX_BRACKET_TOKENS
      if tok.text in ENDERS and _ends_sentence(tokens, i, inside):
        spans.append((tokens[start].start, tok.end))
        start = i + 1
    if start < len(tokens):
      spans.append((tokens[start].start, tokens[-1].end))
  return spans


def _blocks(text: str) -> Iterator[Tuple[int, int]]:
  start = 0
  for m in _BLANK_LINE.finditer(text):
    yield start, m.start()
    start = m.end()
  yield start, len(text)


def tokenize_sentences(text: str) -> List[List[Token]]:
  """Sentences of `text`, each a list of tokens with offsets into `text`."""
  return [tokenize(text[s:e], offset=s) for s, e in split_sentences(text)]
