"""The one progress logger of training and tagging: a line at most every `every_secs`."""
import time

from absl import logging


def _eta(seconds: float) -> str:
  return f"ETA {int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m{int(seconds % 60):02d}s"


class Progress:
  """Counts work done and logs its rate, and an ETA where the total is known.

  Training: `update(tokens, epoch=, step=, loss=)` logs step, loss, tokens/s and the ETA to
  the last epoch. Tagging (no total): `update(chars, docs=, entities=)` logs documents,
  characters per second and entities found.
  """

  def __init__(self, tokens_per_epoch: int = 0, epochs_left: int = 0, every_secs: float = 15.0):
    self.total = tokens_per_epoch * epochs_left
    self.done, self.start, self.last, self.every = 0, time.time(), 0.0, every_secs
    self.docs, self.entities = 0, 0

  def _due(self, force: bool) -> bool:
    now = time.time()
    if not force and now - self.last < self.every:
      return False
    self.last = now
    return True

  def rate(self) -> float:
    return self.done / max(time.time() - self.start, 1e-9)

  def update(self, tokens: int, epoch: int, step: int, loss) -> None:
    """After a training step of `tokens` tokens; `loss` a scalar tensor or float."""
    self.done += tokens
    if not self._due(False):
      return
    rate = self.rate()
    eta = _eta((self.total - self.done) / max(rate, 1e-9)) if self.total > self.done \
        else "ETA unknown"
    logging.info("epoch %d step %d loss %.4f  %.0f tokens/s  %s (to the last epoch)",
                 epoch, step, float(loss), rate, eta)

  def tagged(self, docs: int, chars: int, entities: int, force: bool = False) -> None:
    """After tagging `docs` documents of `chars` characters; `force` logs now."""
    self.done, self.docs, self.entities = (self.done + chars, self.docs + docs,
                                           self.entities + entities)
    if self._due(force):
      logging.info("%d documents (%d characters, %.0f chars/s), %d entities", self.docs,
                   self.done, self.rate(), self.entities)
