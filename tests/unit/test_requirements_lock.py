"""requirements.lock (what `make venv` installs, hash-checked) agrees with the hand-edited requirements*.txt.

Every package named in requirements*.txt must be pinned in the lock, at the very version the input
pins; and every pin in the lock must carry at least one hash, or `pip install --require-hashes` fails.
After editing requirements*.txt, `make lock` regenerates the lock.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
INPUTS = sorted(ROOT.glob("requirements*.txt"))


def _inputs() -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    for path in INPUTS:
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def _lock() -> dict[str, tuple[str, int]]:
    """Each locked package: (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_every_package_of_the_requirements_is_pinned_in_the_lock_at_the_same_version() -> None:
    assert INPUTS, "no requirements*.txt found"
    locked = _lock()
    wrong = []
    for name, requirement in _inputs().items():
        if name not in locked:
            wrong.append(f"{name} is missing from requirements.lock")
            continue
        version = locked[name][0]
        if not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{name}: requirements say {requirement.specifier}, the lock pins {version}")
    assert not wrong, "run `make lock`: " + "; ".join(wrong)


def test_every_pin_in_the_lock_is_exact_and_hash_checked() -> None:
    locked = _lock()
    assert len(locked) > len(_inputs())  # the transitive dependencies are there too
    unhashed = [name for name, (_version, hashes) in locked.items() if hashes == 0]
    assert not unhashed, f"pins without a hash: {unhashed}"
