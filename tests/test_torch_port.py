"""The torch BiLM (tf_bilm_ner/torch_port) against the Keras one, its batches and its loop.

Needs torch (not a dependency: `pip install torch` to run these; CI, without it, runs
tests/test_npz_import.py, which checks the import of weights this port trained).
"""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")

from tf_bilm_ner.config import BiLMConfig, EncoderConfig  # noqa: E402
from tf_bilm_ner.torch_port import batches, model, pretrain, weights  # noqa: E402
from tf_bilm_ner.training import bilm_steps  # noqa: E402
from tf_bilm_ner.transfer import surgery  # noqa: E402

SIZES = model.Sizes(word_vocab_size=37, char_vocab_size=11, word_dim=5, char_dim=3,
                    char_filters=7, char_kernel_size=3, lstm_units=6, dropout=0.0)


def _arrays(lines, rng):
  """A packed corpus of `lines` (lists of type ids) over 23 types of 1-9 characters."""
  types = 23
  lengths = rng.integers(1, 10, size=types)
  chars = np.zeros([types, 9], np.uint16)
  for i, n in enumerate(lengths):
    chars[i, :n] = rng.integers(1, SIZES.char_vocab_size, size=n)
  offsets = np.cumsum([0] + [len(l) for l in lines])
  tokens = np.concatenate(lines).astype(np.int32)
  return {"type_word_ids": rng.integers(1, SIZES.word_vocab_size, size=types).astype(np.int32),
          "type_char_ids": chars, "train_tokens": tokens, "train_offsets": offsets,
          "valid_tokens": tokens, "valid_offsets": offsets,
          "word_vocab_size": np.asarray(SIZES.word_vocab_size),
          "char_vocab_size": np.asarray(SIZES.char_vocab_size)}


def _keras(arrays):
  config = BiLMConfig(encoder=EncoderConfig(
      word_vocab_size=SIZES.word_vocab_size, char_vocab_size=SIZES.char_vocab_size,
      word_dim=5, char_dim=3, char_filters=7, char_kernel_size=3, lstm_units=6,
      word_dropout=0.0))
  bilm = bilm_steps.build_bilm(config)
  for name, get in surgery.ENCODER_VARIABLES.items():
    get(bilm.encoder).assign(arrays[f"encoder/{name}"])
  bilm.softmax_weights.assign(arrays["softmax_weights"])
  bilm.softmax_biases.assign(arrays["softmax_biases"])
  return bilm


def test_states_and_nll_equal_keras():
  rng = np.random.default_rng(3)
  lines = [rng.integers(0, 23, size=n) for n in (5, 1, 9, 3)]
  corpus = batches.Corpus(_arrays(lines, rng), "train")
  batch = corpus.batch(np.arange(4))
  torch.manual_seed(0)
  net = model.BiLM(SIZES).eval()
  with torch.no_grad():  # non-zero biases everywhere, so a dropped bias would show
    for p in net.parameters():
      p.add_(0.3 * torch.randn_like(p))
  arrays = weights.keras_arrays(net, include_softmax=True)
  t = {k: torch.from_numpy(getattr(batch, k)) for k in ("word_ids", "type_chars",
                                                        "type_index", "lengths")}
  with torch.no_grad():
    forward, backward = net(t["word_ids"], t["type_chars"], t["type_index"], t["lengths"])
    fwd_y, bwd_y, real = model.targets(t["word_ids"], t["lengths"])
    nll = [float(net.nll(h, y, real, False)) for h, y in ((forward, fwd_y), (backward, bwd_y))]
  features = {"token_ids": tf.constant(batch.word_ids, tf.int32),
              "char_ids": tf.constant(batch.char_ids(), tf.int32),
              "lengths": tf.constant(batch.lengths, tf.int32)}
  bilm = _keras(arrays)
  k_forward, k_backward = bilm.encoder(features, training=False)
  mask = batch.type_index < len(batch.type_chars)
  np.testing.assert_allclose(k_forward.numpy()[mask], forward.numpy()[mask], atol=1e-5)
  np.testing.assert_allclose(k_backward.numpy()[mask], backward.numpy()[mask], atol=1e-5)
  from tf_bilm_ner.data.corpus import lm_targets
  features["forward_targets"], features["backward_targets"] = lm_targets(
      features["token_ids"], features["lengths"])
  np.testing.assert_array_equal(features["forward_targets"].numpy(), fwd_y.numpy())
  np.testing.assert_array_equal(features["backward_targets"].numpy(), bwd_y.numpy())
  k_nll = bilm.full_nll(features)
  np.testing.assert_allclose([float(k_nll["forward"]), float(k_nll["backward"])], nll,
                             rtol=1e-5)


def test_weights_round_trip_through_keras_layout():
  torch.manual_seed(1)
  a, b = model.BiLM(SIZES), model.BiLM(SIZES)
  weights.load_keras_arrays(b, weights.keras_arrays(a, include_softmax=True))
  x = {k: v for k, v in weights.keras_arrays(b, include_softmax=True).items()}
  for name, value in weights.keras_arrays(a, include_softmax=True).items():
    np.testing.assert_allclose(x[name], value, rtol=1e-6, err_msg=name)


def test_save_parts_splits_and_joins(tmp_path):
  rng = np.random.default_rng(0)
  arrays = {"big": rng.normal(size=(101, 7)).astype(np.float32),
            "small": np.arange(5), "scalar": np.asarray(2.5)}
  paths = weights.save_parts(arrays, str(tmp_path / "w"), max_bytes=1000, tag="a")
  assert len(paths) > 2
  for p in paths:  # the arrays within the budget, plus zip and npy headers per entry
    with np.load(p) as f:
      assert sum(f[k].nbytes for k in f.files) <= 1000
      assert os.path.getsize(p) < 1000 + 400 * len(f.files)
  back = weights.load_parts(str(tmp_path / "w"))
  assert sorted(back) == sorted(arrays)
  for k, v in arrays.items():
    np.testing.assert_array_equal(back[k], v)
  weights.save_parts({"small": np.arange(3)}, str(tmp_path / "w"), max_bytes=1000, tag="b")
  assert list(weights.load_parts(str(tmp_path / "w"))) == ["small"]
  assert sorted(os.listdir(tmp_path)) == ["w-b-00000.npz", "w.json"]  # earlier parts removed


def test_save_cut_short_leaves_the_previous_save_whole(tmp_path, monkeypatch):
  weights.save_parts({"a": np.arange(300)}, str(tmp_path / "w"), max_bytes=1000, tag="s1")
  real = weights.files.write_json_atomic

  def crash(*args):
    raise KeyboardInterrupt
  monkeypatch.setattr(weights.files, "write_json_atomic", crash)
  with pytest.raises(KeyboardInterrupt):  # killed after the new parts, before the index
    weights.save_parts({"a": np.arange(300) + 1}, str(tmp_path / "w"), max_bytes=1000, tag="s2")
  np.testing.assert_array_equal(weights.load_parts(str(tmp_path / "w"))["a"], np.arange(300))
  monkeypatch.setattr(weights.files, "write_json_atomic", real)
  weights.save_parts({"a": np.arange(300) + 2}, str(tmp_path / "w"), max_bytes=1000, tag="s3")
  np.testing.assert_array_equal(weights.load_parts(str(tmp_path / "w"))["a"], np.arange(300) + 2)
  assert not any("s1" in n or "s2" in n for n in os.listdir(tmp_path))


def test_plan_covers_every_line_once_within_budget():
  rng = np.random.default_rng(5)
  lines = [rng.integers(0, 23, size=n) for n in rng.integers(1, 30, size=301)]
  corpus = batches.Corpus(_arrays(lines, rng), "train")
  plan = corpus.plan(47, np.random.default_rng(1))
  seen = np.sort(np.concatenate(plan))
  np.testing.assert_array_equal(seen, np.arange(301))
  for lines_of_batch in plan:
    lengths = corpus.lengths[lines_of_batch]
    assert len(lines_of_batch) == 1 or len(lines_of_batch) * lengths.max() <= 47
  batch = corpus.batch(plan[0])
  for row, line in enumerate(plan[0]):
    n = corpus.lengths[line]
    types = corpus.tokens[corpus.offsets[line]:corpus.offsets[line] + n]
    np.testing.assert_array_equal(batch.word_ids[row, :n], corpus.type_word_ids[types])
    np.testing.assert_array_equal(batch.type_chars[batch.type_index[row, :n]],
                                  corpus.type_char_ids[types, :batch.type_chars.shape[1]])
    assert (batch.word_ids[row, n:] == 0).all()
  assert batch.type_chars.shape[1] == corpus.type_char_lengths[
      np.unique(corpus.tokens[np.concatenate([np.arange(corpus.offsets[l], corpus.offsets[l + 1])
                                              for l in plan[0]])])].max()


def test_trainer_writes_history_weights_and_resumes(tmp_path, monkeypatch):
  monkeypatch.setattr(pretrain, "PROGRESS_SECS", 0.0)
  logged = []
  rng = np.random.default_rng(2)
  lines = [rng.integers(0, 23, size=n) for n in rng.integers(1, 12, size=40)]
  settings = pretrain.Settings(batch_tokens=40, max_epochs=2, eval_every_secs=1e9,
                               warmup_steps=3, weights_dtype="float32")
  ckpt = str(tmp_path / "ckpt.pt")
  run = lambda epochs: pretrain.Trainer(
      _arrays(lines, rng), SIZES, pretrain.Settings(**{**settings.__dict__,
                                                       "max_epochs": epochs}),
      str(tmp_path / "out"), torch.device("cpu"), ckpt, log=logged.append).run()
  first = run(1)
  assert any("tokens/s, learning rate" in line for line in logged)
  assert [(r["epoch"], r["epoch_end"]) for r in first["history"]] == [(1, True)]
  assert first["steps"] > 0
  second = run(2)  # resumes from the checkpoint: one more epoch
  assert [(r["epoch"], r["epoch_end"]) for r in second["history"]] == [(1, True), (2, True)]
  assert second["steps"] == 2 * first["steps"] and second["history"][0] == first["history"][0]
  assert second["history"][-1]["valid_perplexity_forward"] < SIZES.word_vocab_size * 2
  with open(tmp_path / "out" / "report.json") as f:
    assert json.load(f)["steps"] == second["steps"]
  stored = weights.load_parts(str(tmp_path / "out" / "weights"))
  assert stored["reference/forward"].shape[0] == 8


def test_sampled_loss_equals_tf_on_same_candidates():
  from tf_bilm_ner.layers.sampled_softmax import sampled_softmax_loss
  rng = np.random.default_rng(4)
  vocab, units, n = 29, 5, 13
  states = rng.normal(size=(n, units)).astype(np.float32)
  w = rng.normal(size=(vocab, units)).astype(np.float32)
  b = rng.normal(size=vocab).astype(np.float32)
  labels = rng.integers(0, vocab, size=n)
  torch.manual_seed(0)
  sampled, sampled_expected = model.log_uniform_sample(7, vocab, "cpu")
  labels[:3] = sampled[:3].numpy()  # accidental hits must be left out
  true_expected = model.expected_count(torch.as_tensor(labels), 7, vocab)
  ours = model.sampled_nll(torch.as_tensor(states), torch.as_tensor(labels), torch.as_tensor(w),
                           torch.as_tensor(b), sampled, sampled_expected, true_expected, False)
  theirs = sampled_softmax_loss(
      tf.constant(w), tf.constant(b), tf.constant(labels), tf.constant(states), num_sampled=7,
      num_classes=vocab, sampled_values=(tf.constant(sampled.numpy()),
                                         tf.constant(true_expected.numpy()[:, None]),
                                         tf.constant(sampled_expected.numpy())))
  np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)


def test_log_uniform_sample_follows_zipf():
  torch.manual_seed(0)
  ids, expected = model.log_uniform_sample(200000, 50, "cpu")
  counts = np.bincount(ids.numpy(), minlength=50)
  p = np.log((np.arange(50) + 2) / (np.arange(50) + 1)) / np.log(51)
  np.testing.assert_allclose(counts / 200000, p, atol=3e-3)
  np.testing.assert_allclose(expected.numpy(), 200000 * p[ids.numpy()], rtol=1e-5)
