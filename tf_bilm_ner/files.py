"""Writing outputs so that a partial file is never left under the final name; error lines."""
import json
import os


def write_text_atomic(path: str, text: str) -> None:
  """Writes `text` to a temporary name beside `path`, then renames it into place."""
  tmp = f"{path}.tmp-{os.getpid()}"
  try:
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(text)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def write_json_atomic(path: str, obj) -> None:
  write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def error_line(err: Exception) -> str:
  """The first line of an exception's message (TensorFlow's carry pages of graph context)."""
  return (getattr(err, "message", None) or str(err) or type(err).__name__).splitlines()[0]
