"""What the benchmark needs besides banjia, installed on first use: wrk from Debian's packages and
LiteLLM's proxy from PyPI into its own virtual environment (``bench/.litellm-venv``), so that its
dependencies never touch banjia's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["LITELLM_VENV", "ensure_litellm", "ensure_wrk", "litellm_version"]

LITELLM_VENV = Path(__file__).resolve().parent / ".litellm-venv"
_LITELLM_SPEC = "litellm[proxy]"


def _say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ensure_wrk() -> bool:
    """wrk on PATH, installing Debian's package when we are root; False: use the Python client."""
    if shutil.which("wrk"):
        return True
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        _say("wrk is not installed and apt-get is not usable: falling back to the Python load client")
        return False
    _say("installing wrk from Debian's packages (one-time)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            _say(f"{' '.join(argv)} failed: {done.stderr.strip()[-300:]}")
            break
    return shutil.which("wrk") is not None


def litellm_bin() -> Path:
    return LITELLM_VENV / "bin" / "litellm"


def ensure_litellm() -> Path | None:
    """LiteLLM's proxy in its own venv; None if it cannot be installed (the run goes on without it)."""
    exe = litellm_bin()
    if exe.exists():
        return exe
    _say(f"installing {_LITELLM_SPEC} into {LITELLM_VENV} (one-time, about a minute)")
    py = LITELLM_VENV / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(LITELLM_VENV)],
        [str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(py), "-m", "pip", "install", "--quiet", _LITELLM_SPEC],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            _say(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
            return None
    return exe if exe.exists() else None


def litellm_version() -> str | None:
    py = LITELLM_VENV / "bin" / "python"
    if not py.exists():
        return None
    done = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return done.stdout.strip() or None
