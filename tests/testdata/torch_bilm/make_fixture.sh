#!/usr/bin/env bash
# Regenerates this folder: a tiny BiLM trained by the torch port (tools/train_bilm_torch.py)
# on 40 sentences of tests/testdata/ncbi_train_head.tsv, for tests/test_npz_import.py, which
# checks on a machine without torch that tools/import_bilm_weights.py reads it.
# Needs TensorFlow and torch in one environment. Run from the repository root.
set -euo pipefail
here=tests/testdata/torch_bilm tmp=$(mktemp -d)
python - "$tmp" <<'PY'
import collections, sys
tmp = sys.argv[1]
sentences, current = [], []
for line in open("tests/testdata/ncbi_train_head.tsv", encoding="utf-8"):
  if line.strip():
    current.append(line.split("\t")[0])
  elif current:
    sentences.append(current); current = []
train, valid = sentences[:40], sentences[40:48]
words = collections.Counter(t.lower() for s in train for t in s)
chars = collections.Counter(c for s in train for t in s for c in t)
with open("tests/testdata/torch_bilm/vocab/words.txt", "w", encoding="utf-8") as f:
  f.write("\n".join(["<pad>", "<unk>", "<s>", "</s>"] + [w for w, _ in words.most_common(60)]) + "\n")
with open("tests/testdata/torch_bilm/vocab/chars.txt", "w", encoding="utf-8") as f:
  f.write("\n".join(["<pad>", "<unk>"] + [c for c, _ in chars.most_common(40)]) + "\n")
for name, part in (("train-00000-of-00001", train), ("valid-00000-of-00001", valid)):
  with open(f"{tmp}/{name}.txt", "w", encoding="utf-8") as f:
    f.write("".join(" ".join(s) + "\n" for s in part))
PY
python tools/pack_lm_corpus.py --shards_dir="$tmp" --vocab_dir="$here/vocab" \
    --output="$tmp/packed.npz.xz"
PYTHONPATH=. python tools/train_bilm_torch.py --packed="$tmp/packed.npz.xz" --out_dir="$tmp/out" \
    --word_dim=6 --char_dim=4 --char_filters=5 --lstm_units=7 --batch_tokens=200 \
    --num_sampled=16 --max_epochs=3 --warmup_steps=2 --learning_rate=0.01
rm -f "$here"/weights*
cp "$tmp/out/report.json" "$tmp/out"/weights* "$here/"
rm -rf "$tmp"
