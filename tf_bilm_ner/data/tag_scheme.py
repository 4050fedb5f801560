"""Tagging schemes: the tags a tagger is trained on, and the way back to IOB2.

Files and users speak IOB2 (`B-X` starts an entity, `I-X` continues it). A tagger
may instead be trained on IOBES, which also marks an entity's last token (`E-X`)
and single-token entities (`S-X`), so the CRF sees where entities end.

Going back is one tag at a time (`S-X` -> `B-X`, `E-X` -> `I-X`, others unchanged),
so it works on a tag vocabulary as well as on a predicted sequence, inside a
SavedModel's graph too, and is the identity on IOB2 tags: code that reads
predictions maps every tag through `to_iob2` without knowing the scheme.
"""
from typing import List, Sequence

from tf_bilm_ner import metrics

SCHEMES = ("iob2", "iobes")


def encode(tags: Sequence[str], scheme: str) -> List[str]:
  """IOB tags of one sentence -> the same entities in `scheme`.

  Entities are read as conlleval reads them (`metrics.chunks`), so an `I-X` that
  starts an entity is taken as its first token.
  """
  if scheme not in SCHEMES:
    raise ValueError(f"unknown tag scheme {scheme!r}; known: {SCHEMES}")
  out = ["O"] * len(tags)
  for typ, start, end in metrics.chunks(tags):
    if scheme == "iob2":
      out[start:end] = [f"B-{typ}"] + [f"I-{typ}"] * (end - start - 1)
    elif end - start == 1:
      out[start] = f"S-{typ}"
    else:
      out[start:end] = [f"B-{typ}"] + [f"I-{typ}"] * (end - start - 2) + [f"E-{typ}"]
  return out


def to_iob2(tag: str) -> str:
  """One tag of any scheme -> its IOB2 tag (`S-X` -> `B-X`, `E-X` -> `I-X`)."""
  if tag.startswith("S-"):
    return "B-" + tag[2:]
  if tag.startswith("E-"):
    return "I-" + tag[2:]
  return tag


def iob2_tag_set(tags: Sequence[str]) -> List[str]:
  """The IOB2 tags a tagger with tag vocabulary `tags` can predict, sorted."""
  return sorted({to_iob2(t) for t in tags})
