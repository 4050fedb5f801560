"""Calling a serving function without its Python argument binding.

A concrete function's keyword call (`fn(tokens=..., lengths=...)`) binds, converts and
checks its arguments and packs its outputs in Python before and after the graph runs: for
a loaded SavedModel about 0.35 ms on the 2-core machines of results/README.md, a tenth of a
one-sentence request ("Seventh pass"). `FlatCall` runs the same function graph with its inputs in the graph's
flat order and its captured handles (variables, lookup tables) resolved once, through the
call TensorFlow's keyword path ends in (`ConcreteFunction._inference_function.call_flat`,
TensorFlow 2.13 to 2.15, which this project pins), and returns the same outputs: the same
graph, the same kernels, the same numbers (tests/test_flat_call.py). Inputs must be
tensors of the signature's dtypes and ranks (the keyword call would also convert Python
values); anything else is a TypeError naming the input. Where the private attribute is
missing (another TensorFlow), it is the keyword call.

Not for functions whose gradient is wanted: the flat call records nothing on a tape.
"""
from typing import Callable, List, Optional

import tensorflow as tf


class FlatCall:
  """`fn(**inputs)` as `fn` (a concrete function or a loaded signature) computes it.

  `fast`: whether calls take the flat path (False: they are `fn`'s own keyword call).
  """

  def __init__(self, fn: Callable):
    self.fn = fn
    self._atomic = getattr(fn, "_inference_function", None)
    self._specs = _flat_specs(fn)
    self.fast = self._specs is not None and hasattr(self._atomic, "call_flat")
    if self.fast:
      self._captures = list(fn.captured_inputs)
      self._outputs = fn.structured_outputs

  def __call__(self, **inputs: tf.Tensor):
    if not self.fast:
      return self.fn(**inputs)
    if len(inputs) != len(self._specs) or not all(n in inputs for n, _ in self._specs):
      raise TypeError(f"expected inputs {[n for n, _ in self._specs]}, got {sorted(inputs)}")
    flat = []
    for name, spec in self._specs:
      value = inputs[name]
      if (not isinstance(value, tf.Tensor) or value.dtype != spec.dtype
          or value.shape.rank != spec.shape.rank):
        raise TypeError(f"input {name!r}: expected a {spec.dtype.name} tensor of rank "
                        f"{spec.shape.rank}, got {value!r:.200}")
      flat.append(value)
    return tf.nest.pack_sequence_as(self._outputs,
                                    self._atomic.call_flat(*flat, *self._captures))


def _flat_specs(fn: Callable) -> Optional[List[tuple]]:
  """[(name, TensorSpec)] in the graph's input order: positional specs (named) first, then
  keyword specs sorted by name, as `tf.nest` flattens them; None if `fn` has no such
  signature (then it is called as it is)."""
  signature = getattr(fn, "structured_input_signature", None)
  if not signature:
    return None
  args, kwargs = signature
  specs = [(getattr(s, "name", None), s) for s in args]
  specs += [(k, kwargs[k]) for k in sorted(kwargs)]
  names = [n for n, _ in specs]
  if (None in names or len(set(names)) != len(names)
      or not all(isinstance(s, tf.TensorSpec) for _, s in specs)):
    return None
  return specs

