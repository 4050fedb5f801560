"""What every reported figure is stored with: command, commit, data, machine, time, seed."""
import hashlib
import os
import platform
import subprocess
import sys
import time
from typing import Dict, Iterable, Optional, Sequence


def sha256_prefix(path: str, n: int = 16) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()[:n]


def tree_sha256_prefixes(root: str, exclude: Sequence[str] = ()) -> Dict[str, str]:
  """{path relative to `root`: sha256 prefix} for every file under `root` whose name is not
  in `exclude` (a package's manifest lists its own files so)."""
  paths = sorted(os.path.relpath(os.path.join(d, n), root)
                 for d, _, names in os.walk(root) for n in names if n not in exclude)
  return {p: sha256_prefix(os.path.join(root, p)) for p in paths}


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout


def _portable(arg: str, program: bool = False) -> str:
  """An argument without this machine's paths: a path inside the checkout relative to it
  (also after `--flag=`); the program, if outside it (an installed script), by name."""
  flag, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
  if os.path.isabs(value):
    if os.path.commonpath([ROOT, os.path.abspath(value)]) == ROOT:
      value = os.path.relpath(value, ROOT)
    elif program:
      value = os.path.basename(value)
  return flag + eq + value


def command(argv: Optional[Sequence[str]] = None) -> str:
  """The command line of this process, portable (`_portable`): `python tools/x.py --a=b`,
  or for an installed console script `tf-bilm-train-tagger --a=b`."""
  argv = [_portable(a, program=i == 0) for i, a in enumerate(sys.argv if argv is None else argv)]
  installed = bool(argv) and argv[0].startswith("tf-bilm-")  # a console script (setup.py)
  return " ".join(([] if installed else [os.path.basename(sys.executable)]) + argv)


def git_commit(root: Optional[str] = None) -> str:
  """HEAD of the checkout at `root` (default: the one this package runs from), with `-dirty`
  if tracked files other than results/ and README.md changed; "unknown" outside git."""
  root = root or ROOT
  try:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                          text=True, check=True).stdout.strip()
    # results/ holds outputs, and README.md the comparison table that summarize_results
    # regenerates after every stored run: neither is code.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":(exclude)results", ":(exclude)README.md"], cwd=root,
                           capture_output=True, text=True, check=True).stdout.strip()
    return head + ("-dirty" if dirty else "")
  except (OSError, subprocess.CalledProcessError):
    return "unknown"


# The code a process runs is the code it imported: the commit is read once, at import, so a
# checkout pulled while a long run trains does not change what that run records.
_COMMIT_AT_IMPORT = git_commit()


# The instruction sets that decide matmul speed here (float32 AVX2 or AVX512; bfloat16 in
# hardware with AVX512_BF16 or AMX): the machines of this project's runs have differed in them.
CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


def machine() -> Dict[str, object]:
  """cores, CPU model (with family/model numbers and the `CPU_FEATURES` it has), L2 cache
  per core, platform, Python and TensorFlow versions (TensorFlow's if the process has
  imported it: this module imports no TensorFlow, for the torch port's trainer)."""
  model, family, number, flags = platform.processor() or "unknown", "?", "?", set()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name":
          model = value
        elif key == "cpu family":
          family = value
        elif key == "model":
          number = value
        elif key == "flags":
          flags = set(value.split())
        elif not line.strip():  # the first processor is enough
          break
  except OSError:
    pass
  try:
    with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
      l2 = f.read().strip()
  except OSError:
    l2 = "unknown"
  return {"cores": os.cpu_count(), "cpu_model": model,
          "cpu_family_model": f"{family}/{number}",
          "cpu_features": [x for x in CPU_FEATURES if x in flags], "l2_cache_per_core": l2,
          "platform": platform.platform(),
          "python": platform.python_version(),
          "tensorflow": getattr(sys.modules.get("tensorflow"), "__version__", None)}


def record(data_files: Iterable[str], seed=None, started: float = None) -> Dict[str, object]:
  """The provenance block stored beside a figure."""
  return {"command": command(),
          "git_commit": _COMMIT_AT_IMPORT,
          "data_files": {p: sha256_prefix(p) for p in data_files},
          "machine": machine(),
          "seed": seed,
          "wall_time_secs": None if started is None else round(time.time() - started, 1),
          "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
