"""The BiLM of `models/bilm.py` in PyTorch (torch and numpy only).

Every computation matches the Keras layers (`layers/char_cnn.py`, `layers/encoder.py`):
  CharCNN   char embedding (row 0, padding, is a learned row as in Keras) -> Conv1D with
            "same" zero padding over the batch's character width -> tanh -> max over the
            token's real characters (padding id 0 excluded), 0 for a token with none
  encoder   [word embedding, CharCNN] -> dropout -> forward LSTM; the backward LSTM reads
            each sentence reversed over its true length (right padding stays at the end)
  softmax   one [vocab, units] matrix and biases shared by both directions
LSTM gates are i, f, g, o in both frameworks; the two torch biases sum to the Keras one.
Initialisers follow Keras's defaults, so a run from scratch starts as `train_bilm` does.
"""
import dataclasses
import math

import torch
from torch import nn
import torch.nn.functional as F

BOS_ID, EOS_ID = 2, 3  # data/lm_vocab.py


@dataclasses.dataclass
class Sizes:
  """The EncoderConfig fields the weights depend on (config.py), plus dropout."""
  word_vocab_size: int
  char_vocab_size: int
  word_dim: int = 100
  char_dim: int = 32
  char_filters: int = 64
  char_kernel_size: int = 3
  lstm_units: int = 200
  dropout: float = 0.1


def _keras_lstm_init(lstm: nn.LSTM) -> None:
  """glorot_uniform kernel, orthogonal recurrent kernel, zero bias with forget gate 1."""
  units = lstm.hidden_size
  kernel = torch.empty(lstm.input_size, 4 * units)
  nn.init.xavier_uniform_(kernel)
  recurrent = torch.empty(units, 4 * units)
  nn.init.orthogonal_(recurrent)
  with torch.no_grad():
    lstm.weight_ih_l0.copy_(kernel.t())
    lstm.weight_hh_l0.copy_(recurrent.t())
    lstm.bias_ih_l0.zero_()
    lstm.bias_ih_l0[units:2 * units] = 1.0
    lstm.bias_hh_l0.zero_()


class BiLM(nn.Module):
  """Batch tensors (`batches.Batch`) -> forward and backward states, and their losses."""

  def __init__(self, sizes: Sizes):
    super().__init__()
    if sizes.char_kernel_size % 2 != 1:
      raise ValueError("char_kernel_size must be odd ('same' padding is then symmetric)")
    self.sizes = s = sizes
    self.word_embedding = nn.Embedding(s.word_vocab_size, s.word_dim)
    self.char_embedding = nn.Embedding(s.char_vocab_size, s.char_dim)
    self.char_conv = nn.Conv1d(s.char_dim, s.char_filters, s.char_kernel_size,
                               padding=s.char_kernel_size // 2)
    inputs = s.word_dim + s.char_filters
    self.forward_lstm = nn.LSTM(inputs, s.lstm_units, batch_first=True)
    self.backward_lstm = nn.LSTM(inputs, s.lstm_units, batch_first=True)
    self.softmax_weights = nn.Parameter(torch.randn(s.word_vocab_size, s.lstm_units)
                                        * s.lstm_units ** -0.5)
    self.softmax_biases = nn.Parameter(torch.zeros(s.word_vocab_size))
    for emb in (self.word_embedding, self.char_embedding):
      nn.init.uniform_(emb.weight, -0.05, 0.05)
    nn.init.xavier_uniform_(self.char_conv.weight)
    nn.init.zeros_(self.char_conv.bias)
    for lstm in (self.forward_lstm, self.backward_lstm):
      _keras_lstm_init(lstm)

  def char_features(self, chars: torch.Tensor) -> torch.Tensor:
    """chars [N, C] int64 (0 = padding) -> [N, char_filters]."""
    x = self.char_embedding(chars).transpose(1, 2)                 # [N, dim, C]
    x = torch.tanh(self.char_conv(x)).transpose(1, 2)              # [N, C, filters]
    valid = (chars != 0)[:, :, None]
    pooled = torch.where(valid, x, torch.full_like(x, -2.0)).amax(dim=1)
    return torch.where(valid.any(dim=1), pooled, torch.zeros_like(pooled))

  def forward(self, word_ids, type_chars, type_index, lengths):
    """word_ids [B, T], type_chars [N, C], type_index [B, T] (row of type_chars, N at
    padding), lengths [B] -> (forward, backward) states, each [B, T, units]."""
    chars = self.char_features(type_chars)
    chars = torch.cat([chars, chars.new_zeros(1, chars.shape[1])])[type_index]
    x = torch.cat([self.word_embedding(word_ids), chars], dim=-1)
    x = F.dropout(x, self.sizes.dropout, self.training)
    forward, _ = self.forward_lstm(x)
    rev = reverse_index(lengths, word_ids.shape[1])                # [B, T]
    gather = lambda t: torch.gather(t, 1, rev[:, :, None].expand(-1, -1, t.shape[2]))
    backward, _ = self.backward_lstm(gather(x))
    backward = gather(backward)
    return (F.dropout(forward, self.sizes.dropout, self.training),
            F.dropout(backward, self.sizes.dropout, self.training))

  def nll(self, states: torch.Tensor, targets: torch.Tensor, real: torch.Tensor,
          low_precision: bool) -> torch.Tensor:
    """Summed full-softmax NLL over real positions: states [B, T, U], targets [B, T],
    real [B, T] bool -> scalar float32. `low_precision`: the logits matmul in bfloat16
    (float32 accumulation), the cross-entropy in float32."""
    h = states[real]                                               # [N, U]
    w = self.softmax_weights
    if low_precision:
      logits = torch.matmul(h.bfloat16(), w.bfloat16().t()).float()
    else:
      logits = torch.matmul(h, w.t())
    logits = logits + self.softmax_biases
    return F.cross_entropy(logits, targets[real], reduction="sum")

  def sampled_nll(self, states: torch.Tensor, targets: torch.Tensor, real: torch.Tensor,
                  candidates, low_precision: bool) -> torch.Tensor:
    """Summed sampled-softmax NLL over real positions (`sampled_nll`); candidates: the
    (ids, expected counts) of `log_uniform_sample`."""
    labels = targets[real]
    sampled, sampled_expected = candidates
    true_expected = expected_count(labels, sampled.shape[0], self.sizes.word_vocab_size)
    return sampled_nll(states[real], labels, self.softmax_weights, self.softmax_biases,
                       sampled, sampled_expected, true_expected, low_precision).sum()


def log_uniform_sample(num_sampled: int, vocab_size: int, device):
  """`num_sampled` ids drawn with replacement from the log-uniform (Zipfian) distribution
  P(k) = log((k + 2) / (k + 1)) / log(vocab_size + 1) that word ids, numbered by frequency,
  roughly follow -> (ids [S] int64, their expected counts S * P(id) [S] float32)."""
  u = torch.rand(num_sampled, device=device, dtype=torch.float64)
  ids = (torch.exp(u * math.log(vocab_size + 1)).floor().long() - 1).clamp(0, vocab_size - 1)
  return ids, expected_count(ids, num_sampled, vocab_size)


def expected_count(ids: torch.Tensor, num_sampled: int, vocab_size: int) -> torch.Tensor:
  """S * P(id) under `log_uniform_sample`'s distribution, float32, the shape of `ids`."""
  k = ids.double()
  p = (torch.log(k + 2) - torch.log(k + 1)) / math.log(vocab_size + 1)
  return (num_sampled * p).float()


def sampled_nll(states: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                biases: torch.Tensor, sampled: torch.Tensor, sampled_expected: torch.Tensor,
                true_expected: torch.Tensor, low_precision: bool) -> torch.Tensor:
  """Per-example sampled softmax NLL, as `layers/sampled_softmax.sampled_softmax_loss`
  computes it from the same candidates: states [N, U], labels [N], sampled [S] with their
  expected counts [S], the labels' expected counts [N] -> [N] float32. Logits are corrected
  by -log(expected count); a candidate equal to the example's label is left out."""
  cast = (lambda t: t.bfloat16()) if low_precision else (lambda t: t)
  true_logits = ((cast(states) * cast(weights[labels])).float().sum(dim=1)
                 + biases[labels] - torch.log(true_expected))                     # [N]
  sampled_logits = (torch.matmul(cast(states), cast(weights[sampled]).t()).float()
                    + (biases[sampled] - torch.log(sampled_expected)))            # [N, S]
  hits = labels[:, None] == sampled[None, :]
  sampled_logits = sampled_logits.masked_fill(hits, float("-inf"))
  logits = torch.cat([true_logits[:, None], sampled_logits], dim=1)
  return torch.logsumexp(logits, dim=1) - true_logits


def reverse_index(lengths: torch.Tensor, time: int) -> torch.Tensor:
  """[B] lengths -> [B, time] index that reverses each row's first lengths[b] positions
  and leaves the rest in place (its own inverse)."""
  t = torch.arange(time, device=lengths.device)[None, :]
  n = lengths[:, None]
  return torch.where(t < n, n - 1 - t, t)


def targets(word_ids: torch.Tensor, lengths: torch.Tensor):
  """word_ids [B, T], lengths [B] -> (next-word, previous-word, real), as `corpus.lm_targets`."""
  time = word_ids.shape[1]
  pos = torch.arange(time, device=word_ids.device)[None, :]
  real = pos < lengths[:, None]
  nxt = F.pad(word_ids[:, 1:], (0, 1))
  prev = F.pad(word_ids[:, :-1], (1, 0))
  forward = torch.where(pos == lengths[:, None] - 1, torch.full_like(nxt, EOS_ID), nxt)
  backward = torch.where(pos == 0, torch.full_like(prev, BOS_ID), prev)
  zeros = torch.zeros_like(word_ids)
  return torch.where(real, forward, zeros), torch.where(real, backward, zeros), real
