"""Load the advice and exercise library (data/library/*.yaml) into a validated dashboard.plan.Library.

The version is a hash of the files, so a stored plan says exactly which wording it was built from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dashboard.plan import Library

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
VERSION_HEX_CHARS = 12


class LibraryError(ValueError):
    """The library files are missing or invalid; the message names the file and the entry."""


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LibraryError(f"advice library not found: {path}")
    files = sorted(path.glob("*.yaml"))
    if not files:
        raise LibraryError(f"advice library {path} holds no .yaml files")
    return files


def _location(loc: tuple[int | str, ...], files_by_section: dict[str, str]) -> str:
    parts = [str(part) for part in loc]
    if not parts:
        return "library"
    where = f"{files_by_section[parts[0]]}: " if parts[0] in files_by_section else ""
    name = parts[0] + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts[1:])
    return where + name


def load_library(path: str | Path | None = None) -> Library:
    """Read and validate the library from a directory of YAML files (or one file); LibraryError if invalid."""
    files = _files(Path(path) if path is not None else LIBRARY_DIR)
    digest = hashlib.sha256()
    merged: dict[str, Any] = {}
    files_by_section: dict[str, str] = {}
    for file in files:
        raw = file.read_bytes()
        # The name is hashed too, so moving a section to another file is a new version.
        digest.update(file.name.encode() + b"\0" + raw + b"\0")
        try:
            content = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise LibraryError(f"{file.name}: not valid YAML ({error})") from None
        if not isinstance(content, dict):
            raise LibraryError(f"{file.name}: expected sections (section name: list of items)")
        for section, items in content.items():
            if section in merged:
                raise LibraryError(f"{file.name}: section {section!r} is also in {files_by_section[section]}")
            merged[section] = items
            files_by_section[section] = file.name
    merged["version"] = digest.hexdigest()[:VERSION_HEX_CHARS]
    try:
        return Library.model_validate(merged)
    except ValidationError as error:
        problems = [
            f"{_location(tuple(item['loc']), files_by_section)}: "
            + str(item["msg"]).removeprefix("Value error, ")
            for item in error.errors(include_url=False, include_input=False)
        ]
        raise LibraryError("invalid advice library: " + "; ".join(problems)) from None
