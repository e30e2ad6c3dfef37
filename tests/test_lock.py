"""The environment the suite runs in is exactly the committed lock (requirements*.txt)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(name: str) -> dict[str, str]:
    """The lock's pins that apply to this interpreter, by canonical name."""
    out: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        m = PIN.match(line)
        if m is None:
            continue
        pkg, version, marker = m.groups()
        if marker and not Marker(marker).evaluate():
            continue
        out[canonicalize_name(pkg)] = version
    return out


def installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


@pytest.mark.parametrize("lock", ["requirements-build.txt", "requirements-dev.txt"])
def test_every_pinned_package_is_installed_at_its_pinned_version(lock: str) -> None:
    have = installed()
    wrong = {p: (v, have.get(p)) for p, v in pins(lock).items() if have.get(p) != v}
    assert not wrong, f"installed versions differ from {lock} (pinned, installed): {wrong}"


def test_nothing_is_installed_that_the_lock_does_not_name() -> None:
    locked = pins("requirements-dev.txt") | pins("requirements-build.txt") | {"banjia": "*"}
    extra = sorted(set(installed()) - set(locked))
    assert not extra, f"installed but not in the lock: {extra}"


def test_runtime_pins_agree_with_the_dev_pins() -> None:
    dev = pins("requirements-dev.txt")
    differ = {p: (v, dev.get(p)) for p, v in pins("requirements.txt").items() if dev.get(p) != v}
    assert not differ, differ

