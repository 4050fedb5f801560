"""Corpus sharding: every line lands exactly once, bad lines are counted, errors are clear."""
import gzip
import json
import os

import tensorflow as tf

from tf_bilm_ner.data import sharding, tokenizer


class ShardingTest(tf.test.TestCase):

  def _inputs(self):
    d = self.get_temp_dir()
    a = os.path.join(d, "a.txt")
    with open(a, "wb") as f:
      f.write("IL-2  gene expression .\n\n".encode() + b"bad \xff byte\n" +
              " ".join(f"w{i}" for i in range(11)).encode() + b"\n" +
              ("x" * 13 + " y\n").encode())
    b = os.path.join(d, "b.txt.gz")
    with gzip.open(b, "wt", encoding="utf-8") as f:
      f.writelines(f"sentence {i} .\n" for i in range(97))
    return [a, os.path.join(d, "*.gz")]

  def _read(self, out):
    lines = {}
    for name in sorted(os.listdir(out)):
      if name.endswith(".txt"):
        with open(os.path.join(out, name), encoding="utf-8") as f:
          lines[name] = f.read().splitlines()
    return lines

  def test_every_line_once_and_counts(self):
    out = os.path.join(self.get_temp_dir(), "shards")
    manifest = sharding.shard_corpus(self._inputs(), out, num_shards=3, valid_fraction=0.1,
                                     seed=5, max_tokens_per_line=4, max_chars_per_token=10)
    lines = self._read(out)
    self.assertCountEqual(lines, ["train-00000-of-00003.txt", "train-00001-of-00003.txt",
                                  "train-00002-of-00003.txt", "valid-00000-of-00001.txt"])
    everything = [line for ls in lines.values() for line in ls]
    want = (["IL-2 gene expression ."] + ["w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9 w10"] +
            ["x" * 10 + " y"] + [f"sentence {i} ." for i in range(97)])
    self.assertCountEqual(everything, want)
    stats = manifest["stats"]
    self.assertEqual(stats["input_lines"], 102)
    self.assertEqual((stats["blank_lines_skipped"], stats["non_utf8_lines_skipped"],
                      stats["long_lines_split"], stats["long_tokens_cut"]), (1, 1, 1, 1))
    self.assertEqual(stats["valid_lines"], len(lines["valid-00000-of-00001.txt"]))
    self.assertBetween(stats["valid_lines"], 3, 25)
    with open(os.path.join(out, "manifest.json")) as f:
      self.assertEqual(json.load(f), manifest)
    # Same seed, same shards.
    again = os.path.join(self.get_temp_dir(), "again")
    sharding.shard_corpus(self._inputs(), again, 3, 0.1, 5, 4, 10)
    self.assertEqual(self._read(again), lines)

  def test_raw_text_is_split_and_tokenised_like_inference(self):
    d = self.get_temp_dir()
    raw = os.path.join(d, "abstracts.txt")
    docs = ["IL-2-induced apoptosis (e.g. in E. coli) rose 2.5-fold. BRCA1 was mutated.",
            "", "Fig. 2 shows p53. Done."]
    with open(raw, "w", encoding="utf-8") as f:
      f.write("\n".join(docs) + "\n")
    out = os.path.join(d, "raw_shards")
    manifest = sharding.shard_corpus([raw], out, num_shards=2, valid_fraction=0.0, seed=1,
                                     tokenize=True)
    want = [" ".join(t.text for t in s) for doc in docs
            for s in tokenizer.tokenize_sentences(doc)]
    self.assertEqual(want[0], "IL - 2 - induced apoptosis ( e . g . in E . coli ) rose 2 . 5 - "
                              "fold .")
    self.assertCountEqual([x for ls in self._read(out).values() for x in ls], want)
    self.assertLen(want, 4)
    self.assertEqual(manifest["stats"]["sentences_split"], 4)
    self.assertEqual(manifest["stats"]["blank_lines_skipped"], 1)
    self.assertTrue(manifest["tokenize"])
    # A benchmark-tokenised file beside it keeps its tokens ("IL-2", one sentence per line).
    given = os.path.join(d, "genia.txt")
    with open(given, "w", encoding="utf-8") as f:
      f.write("NF-kappaB binds IL-2 . Then T-cell lines grew .\n")
    out = os.path.join(d, "mixed_shards")
    manifest = sharding.shard_corpus([raw, given], out, num_shards=2, valid_fraction=0.0,
                                     seed=1, tokenize=True, keep_tokens=[given])
    self.assertCountEqual([x for ls in self._read(out).values() for x in ls],
                          want + ["NF-kappaB binds IL-2 . Then T-cell lines grew ."])
    self.assertEqual(manifest["tokens_kept_as_given"], [given])
    with self.assertRaisesRegex(sharding.CorpusError, "in keep_tokens but not an input"):
      sharding.shard_corpus([raw], os.path.join(d, "x"), 2, 0.0, 1, tokenize=True,
                            keep_tokens=[given])

  def test_errors(self):
    d = self.get_temp_dir()
    with self.assertRaisesRegex(sharding.CorpusError, r"nothing\*.txt: matches no file"):
      sharding.shard_corpus([os.path.join(d, "nothing*.txt")], os.path.join(d, "o1"), 2, 0.1, 1)
    blank = os.path.join(d, "blank.txt")
    with open(blank, "w") as f:
      f.write("\n  \n")
    with self.assertRaisesRegex(sharding.CorpusError, "no usable line"):
      sharding.shard_corpus([blank], os.path.join(d, "o2"), 2, 0.1, 1)
    self.assertFalse(os.path.exists(os.path.join(d, "o2")))
    self.assertEmpty([n for n in os.listdir(d) if ".tmp-" in n])
    bad_gz = os.path.join(d, "bad.gz")
    with open(bad_gz, "wb") as f:
      f.write(b"not gzip at all")
    with self.assertRaisesRegex(sharding.CorpusError, "bad.gz: unreadable"):
      sharding.shard_corpus([bad_gz], os.path.join(d, "o3"), 2, 0.1, 1)
    os.makedirs(os.path.join(d, "exists"))
    with self.assertRaisesRegex(sharding.CorpusError, "exists; pass overwrite"):
      sharding.shard_corpus([blank], os.path.join(d, "exists"), 2, 0.1, 1)


if __name__ == "__main__":
  tf.test.main()
