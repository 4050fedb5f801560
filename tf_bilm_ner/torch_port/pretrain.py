"""The torch BiLM's training loop: Adam, warm-up, a time budget, validation perplexity.

The learning rate warms up linearly over `warmup_steps`, then, with a time budget, decays
linearly to zero as the budget runs out (a run of fixed length on a lent GPU ends annealed,
whatever its speed turned out to be); without one it stays at its peak. Validation
perplexity (full softmax, no dropout) is taken every `eval_every_secs`, at each epoch's end
and at the end; each time, the history and the encoder's weights in Keras names
(`weights.py`) are written to `out_dir` (files of at most `max_bytes`), and the model and
optimiser to `checkpoint_path` if set, from which a rerun resumes (at the start of the epoch
it was in). History rows count `epoch` as epochs completed.

Loss: each direction's mean NLL per real token, the two summed (as `train_bilm`); in
training a sampled softmax over `num_sampled` log-uniform negatives (as `train_bilm`, with
more negatives), or the full softmax; validation always uses the full softmax.
"""
import dataclasses
import json
import os
import queue
import threading
import time
from typing import Callable, Dict, Optional

import numpy as np
import torch

from tf_bilm_ner import files
from tf_bilm_ner.torch_port import batches as batches_lib
from tf_bilm_ner.torch_port import model as model_lib
from tf_bilm_ner.torch_port import weights

DIRECTIONS = ("forward", "backward")
PROGRESS_SECS = 30.0  # seconds between progress lines


@dataclasses.dataclass
class Settings:
  batch_tokens: int = 16384       # padded positions per batch
  learning_rate: float = 2e-3     # peak
  warmup_steps: int = 200
  clip_norm: float = 5.0          # global gradient norm
  max_epochs: int = 1000
  time_budget_secs: float = 0.0   # 0: no budget, constant rate after warm-up
  eval_every_secs: float = 120.0
  seed: int = 1
  low_precision: bool = True      # softmax logits in bfloat16 (on a GPU)
  num_sampled: int = 8192         # training's sampled softmax negatives; 0: the full softmax
  weights_dtype: str = "float16"  # storage of the exported weights
  max_bytes: int = 15 << 20       # per exported file
  reference_lines: int = 8        # validation lines whose states are stored for checking


def _to_device(batch: batches_lib.Batch, device) -> Dict[str, torch.Tensor]:
  out = {f.name: torch.from_numpy(getattr(batch, f.name)) for f in dataclasses.fields(batch)}
  if device.type == "cuda":
    out = {k: v.pin_memory().to(device, non_blocking=True) for k, v in out.items()}
  return out


def _producer(corpus, settings: Settings, first_epoch: int, device, out: queue.Queue):
  """Puts (epoch, tensors) for every batch, (epoch, None) at each epoch's end."""
  for epoch in range(first_epoch, settings.max_epochs):
    rng = np.random.default_rng([settings.seed, epoch])
    for batch in corpus.batches(settings.batch_tokens, rng):
      out.put((epoch, _to_device(batch, device)))
    out.put((epoch, None))
  out.put((None, None))


def _losses(model, t: Dict[str, torch.Tensor], low_precision: bool, num_sampled: int = 0):
  """-> ({direction: summed NLL}, real token count) for one batch: the full softmax, or with
  `num_sampled` the sampled one (its own candidates per direction, as `BiLM.sampled_loss`)."""
  states = model(t["word_ids"], t["type_chars"], t["type_index"], t["lengths"])
  forward, backward, real = model_lib.targets(t["word_ids"], t["lengths"])
  nll = {}
  for d, h, y in zip(DIRECTIONS, states, (forward, backward)):
    if num_sampled:
      vocab = model.sizes.word_vocab_size
      candidates = model_lib.log_uniform_sample(min(num_sampled, vocab - 1), vocab, h.device)
      nll[d] = model.sampled_nll(h, y, real, candidates, low_precision)
    else:
      nll[d] = model.nll(h, y, real, low_precision)
  return nll, real.sum()


@torch.no_grad()
def perplexity(model, corpus, device, batch_tokens: int, low_precision: bool) -> dict:
  """Full-softmax validation perplexity per direction, dropout off."""
  was_training = model.training
  model.eval()
  sums = {d: 0.0 for d in DIRECTIONS}
  tokens = 0
  for batch in corpus.batches(batch_tokens):
    nll, n = _losses(model, _to_device(batch, device), low_precision)
    for d in DIRECTIONS:
      sums[d] += float(nll[d])
    tokens += int(n)
  model.train(was_training)
  return {f"valid_perplexity_{d}": float(np.exp(sums[d] / tokens)) for d in DIRECTIONS}


def reference_states(model, corpus, lines: int) -> Dict[str, np.ndarray]:
  """The first `lines` validation lines and their states in float32 on the CPU, computed
  from the weights as stored (rounded to `dtype` by the caller), for the importer's check."""
  batch = corpus.batch(np.arange(min(lines, len(corpus.lengths))))
  t = _to_device(batch, torch.device("cpu"))
  with torch.no_grad():
    forward, backward = model.eval()(t["word_ids"], t["type_chars"], t["type_index"],
                                     t["lengths"])
  return {"reference/token_ids": batch.word_ids.astype(np.int32),
          "reference/char_ids": batch.char_ids().astype(np.int32),
          "reference/lengths": batch.lengths.astype(np.int32),
          "reference/forward": forward.numpy(), "reference/backward": backward.numpy()}


class Trainer:
  """Trains a `model.BiLM` on a packed corpus; see the module docstring."""

  def __init__(self, arrays, sizes: model_lib.Sizes, settings: Settings, out_dir: str,
               device: torch.device, checkpoint_path: str = "",
               log: Callable[[str], None] = print, about: Optional[dict] = None):
    self.settings, self.out_dir, self.device, self.log = settings, out_dir, device, log
    self.low_precision = settings.low_precision and device.type == "cuda"
    self.checkpoint_path, self.about = checkpoint_path, dict(about or {})
    torch.manual_seed(settings.seed)
    self.model = model_lib.BiLM(sizes).to(device)
    self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.learning_rate,
                                      fused=device.type == "cuda")
    self.train_data = batches_lib.Corpus(arrays, "train")
    self.valid_data = batches_lib.Corpus(arrays, "valid")
    self.state = {"step": 0, "epoch": 0, "tokens": 0, "elapsed": 0.0, "history": []}
    if checkpoint_path and os.path.exists(checkpoint_path):
      saved = torch.load(checkpoint_path, map_location=device)
      self.model.load_state_dict(saved["model"])
      self.optimizer.load_state_dict(saved["optimizer"])
      self.state = saved["state"]
      log(f"resumed from {checkpoint_path} at step {self.state['step']}")
    os.makedirs(out_dir, exist_ok=True)

  def _rate(self) -> float:
    s = self.settings
    rate = s.learning_rate * min(1.0, (self.state["step"] + 1) / max(1, s.warmup_steps))
    if s.time_budget_secs > 0:
      rate *= max(0.0, 1.0 - self.state["elapsed"] / s.time_budget_secs)
    return rate

  def _step(self, t: Dict[str, torch.Tensor]):
    for group in self.optimizer.param_groups:
      group["lr"] = self._rate()
    nll, n = _losses(self.model, t, self.low_precision, self.settings.num_sampled)
    loss = sum(nll.values()) / n
    self.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.clip_norm)
    self.optimizer.step()
    self.state["step"] += 1
    return nll, n

  def run(self) -> dict:
    """Trains until the epochs or the time budget run out; returns the report."""
    s, state = self.settings, self.state
    batches: queue.Queue = queue.Queue(maxsize=16)
    threading.Thread(target=_producer, daemon=True,
                     args=(self.train_data, s, state["epoch"], self.device, batches)).start()
    started, last_eval = time.time() - state["elapsed"], time.time()
    progress = (time.time(), 0)
    sums = {d: torch.zeros((), device=self.device) for d in DIRECTIONS}
    tokens = torch.zeros((), device=self.device, dtype=torch.int64)
    self.model.train()
    while True:
      epoch, t = batches.get()
      state["elapsed"] = time.time() - started
      finished = epoch is None or (0 < s.time_budget_secs <= state["elapsed"])
      epoch_end = epoch is not None and t is None
      if epoch is not None:
        state["epoch"] = epoch + 1 if epoch_end else epoch  # epochs completed
      if finished or epoch_end or time.time() - last_eval >= s.eval_every_secs:
        if not (finished and int(tokens) == 0 and state["history"]):  # nothing new since
          self._record(sums, tokens, epoch_end)
        sums = {d: torch.zeros((), device=self.device) for d in DIRECTIONS}
        tokens = torch.zeros((), device=self.device, dtype=torch.int64)
        last_eval = time.time()
        progress = (last_eval, 0)
        if finished:
          break
        if epoch_end:
          continue
      nll, n = self._step(t)
      for d in DIRECTIONS:
        sums[d] += nll[d].detach()
      tokens += n
      if time.time() - progress[0] >= PROGRESS_SECS:
        progress = self._progress(progress, int(tokens))
    return self._report(final=True)

  def _progress(self, last, tokens: int):
    """Logs steps, tokens/s since the last line and time left; -> (now, tokens) to pass back.
    `tokens`: since the last record, where `last` restarts at (then, 0)."""
    now, state = time.time(), self.state
    rate = (tokens - last[1]) / max(now - last[0], 1e-9)
    left = (f", {self.settings.time_budget_secs - state['elapsed']:.0f} s of the budget left"
            if self.settings.time_budget_secs else "")
    self.log(f"step {state['step']} epoch {state['epoch']}: {rate:,.0f} tokens/s, learning "
             f"rate {self._rate():.2e}{left}")
    return now, tokens

  def _record(self, sums, tokens, epoch_end: bool) -> None:
    """Validation perplexity and the training loss since the last record -> history; writes
    the weights, the report and the checkpoint."""
    state, n = self.state, int(tokens)
    state["tokens"] += n
    row = {"step": state["step"], "epoch": state["epoch"], "epoch_end": epoch_end,
           "tokens_seen": state["tokens"], "elapsed_secs": round(state["elapsed"], 1),
           "learning_rate": self._rate()}
    if n:
      # The training loss: the sampled softmax's when sampling, not a perplexity.
      row.update({f"train_loss_{d}": float(sums[d]) / n for d in DIRECTIONS})
    row.update(perplexity(self.model, self.valid_data, self.device, self.settings.batch_tokens,
                          self.low_precision))
    state["history"].append(row)
    self.log(json.dumps(row))
    self._save()

  def _save(self) -> None:
    s = self.settings
    arrays = weights.keras_arrays(self.model)
    stored = {k: v.astype(s.weights_dtype) for k, v in arrays.items()}
    reference = model_lib.BiLM(self.model.sizes)
    weights.load_keras_arrays(reference, {k: v.astype(np.float32) for k, v in stored.items()})
    stored.update(reference_states(reference, self.valid_data, s.reference_lines))
    weights.save_parts(stored, os.path.join(self.out_dir, "weights"), s.max_bytes,
                       tag=f"step{self.state['step']:08d}")
    self._report(final=False)
    if self.checkpoint_path:
      with files.atomic_file(self.checkpoint_path, "wb") as f:
        torch.save({"model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "state": self.state}, f)

  def _report(self, final: bool) -> dict:
    state = self.state
    report = dict(self.about, sizes=dataclasses.asdict(self.model.sizes),
                  settings=dataclasses.asdict(self.settings), final=final,
                  steps=state["step"], tokens_seen=state["tokens"],
                  elapsed_secs=round(state["elapsed"], 1),
                  tokens_per_sec=round(state["tokens"] / max(state["elapsed"], 1e-9), 1),
                  train_tokens_per_epoch=self.train_data.num_tokens,
                  epochs_seen=round(state["tokens"] / self.train_data.num_tokens, 3),
                  device=(torch.cuda.get_device_name(self.device)
                          if self.device.type == "cuda" else "cpu"),
                  max_memory_allocated_gib=(
                      round(torch.cuda.max_memory_allocated(self.device) / 2**30, 2)
                      if self.device.type == "cuda" else None),
                  torch=torch.__version__, history=state["history"])
    files.write_json_atomic(os.path.join(self.out_dir, "report.json"), report)
    return report
