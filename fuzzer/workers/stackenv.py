"""A throwaway virtualenv with the installed stack plus a few pinned overrides (``findings retest``).

The environment is built under a scratch directory the caller owns and removes:

- ``python -m venv --without-pip`` from the running interpreter (a second or two);
- a ``.pth`` file that adds the running interpreter's site-packages *after* the venv's own, so
  everything not overridden (torch above all: never reinstalled) comes from the installed stack;
- each override installed with pip into the venv's own site-packages, ``--no-deps`` (the rest of
  the stack is already there; resolving dependencies could replace numpy or pull a CUDA torch).

Overrides: ``onnxruntime``, ``onnxscript``, ``onnx``, ``onnx-ir``, and ``torch`` only as a CPU
build (``torch==X+cpu``): a plain torch pin may resolve to a multi-gigabyte CUDA wheel.
The case code itself is this checkout's (``PYTHONPATH``), so a retest runs the same fuzzer.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

#: packages a retest may override (distribution names)
OVERRIDABLE = ("onnxruntime", "onnxscript", "onnx", "onnx-ir", "torch")
_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[0-9][0-9A-Za-z.+!-]*)$")


class OverrideError(ValueError):
    """A bad ``--with`` value, or an override pip could not install (one line)."""


@dataclass(frozen=True)
class Override:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def parse_override(text: str) -> Override:
    """``"onnxruntime==1.31.1"`` -> Override; an OverrideError names what is wrong."""
    m = _SPEC.match(text.strip())
    if not m:
        raise OverrideError(f"--with {text!r}: expected NAME==VERSION, e.g. onnxruntime==1.31.1")
    name = m.group("name").lower().replace("_", "-")
    if name not in OVERRIDABLE:
        raise OverrideError(f"--with {text!r}: only {', '.join(OVERRIDABLE)} can be overridden")
    if name == "torch" and not m.group("version").endswith("+cpu"):
        raise OverrideError(f"--with {text!r}: name a CPU build of torch (torch==X+cpu); a plain pin may install a CUDA build")
    return Override(name, m.group("version"))


class StackEnv:
    """A virtualenv at ``root`` (created, never removed here: the caller's scratch directory)."""

    def __init__(self, root: Path, overrides: Sequence[Override], log: Path | None = None):
        self.root = Path(root)
        self.overrides = tuple(overrides)
        self.log = log

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def site_packages(self) -> Path:
        return self.root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

    def create(self) -> "StackEnv":
        self._run([sys.executable, "-m", "venv", "--without-pip", str(self.root)], "create the virtualenv")
        sp = self.site_packages()
        base = [p for p in site.getsitepackages() if Path(p).is_dir()]
        lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in base)
        (sp / "_onnxfuzz_installed_stack.pth").write_text(lines, encoding="utf-8")
        if self.overrides:
            self._run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-input", "--target", str(sp),
                       *map(str, self.overrides)], "install " + " ".join(map(str, self.overrides)))
        return self

    def env(self) -> dict[str, str]:
        """The environment to run this checkout's fuzzer in the virtualenv."""
        repo = str(Path(__file__).resolve().parents[2])
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = repo
        env["VIRTUAL_ENV"] = str(self.root)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def versions(self) -> dict[str, str]:
        """The stack as the virtualenv sees it (:func:`fuzzer.versions.stack_versions`)."""
        out = self._run([str(self.python), "-c", "import json; from fuzzer.versions import stack_versions; print(json.dumps(stack_versions()))"],
                        "read the virtualenv's versions", env=self.env())
        return json.loads(out.strip().splitlines()[-1])

    def run_fuzzer(self, args: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess:
        """``python -m fuzzer ARGS`` in the virtualenv (output captured, exit code as is)."""
        return subprocess.run([str(self.python), "-m", "fuzzer", *args], env=self.env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def _run(self, cmd: list[str], what: str, env: dict | None = None) -> str:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"$ {' '.join(cmd)}\n{r.stdout}{r.stderr}\n")
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["no output"])[-1]
            raise OverrideError(f"cannot {what}: {last[:300]}")
        return r.stdout
