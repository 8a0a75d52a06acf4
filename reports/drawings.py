"""The library's illustrations: SVG line drawings in data/library/drawings/ and their manifest.

Read by file path (reports may not import data/): the handout prints them as vectors with fpdf2 and
the web version inlines them with their alt text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from defusedxml import ElementTree

DRAWINGS_DIR = Path(__file__).resolve().parents[1] / "data" / "library" / "drawings"
MANIFEST = DRAWINGS_DIR / "manifest.yaml"
# fpdf2 ignores <title> with a warning on every use; the web version keeps it.
_TITLE = re.compile(rb"<title>.*?</title>", re.DOTALL)


@dataclass(frozen=True)
class Drawing:
    """One drawing: its file, what it shows (alt text), who drew it and under which licence."""

    id: str
    path: Path
    kind: str  # "exercise": start and finish panels; "cue": one panel
    alt: str
    author: str
    licence: str
    exercise: str = ""
    items: tuple[str, ...] = ()

    @property
    def aspect(self) -> float:
        """Height over width, from the SVG's viewBox."""
        root = ElementTree.fromstring(self.path.read_bytes())
        _, _, width, height = (float(value) for value in root.get("viewBox", "0 0 1 1").split())
        return height / width

    def pdf_bytes(self) -> bytes:
        """The SVG as fpdf2 reads it (without the <title> it does not support)."""
        return _TITLE.sub(b"", self.path.read_bytes())

    def svg_text(self) -> str:
        """The SVG markup for inlining in HTML."""
        return self.path.read_text(encoding="utf-8")


@functools.cache
def drawings(manifest: Path = MANIFEST) -> tuple[Drawing, ...]:
    """Every drawing listed in the manifest."""
    content = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return tuple(
        Drawing(
            id=entry["id"],
            path=manifest.parent / entry["file"],
            kind=entry["kind"],
            alt=entry["alt"],
            author=entry["author"],
            licence=entry["licence"],
            exercise=entry.get("exercise", ""),
            items=tuple(entry.get("items", ())),
        )
        for entry in content["drawings"]
    )


def exercise_drawing(exercise_id: str) -> Drawing | None:
    """The start-and-finish drawing of an exercise, if there is one."""
    return next((d for d in drawings() if d.kind == "exercise" and d.exercise == exercise_id), None)


def cue_drawing(item_id: str) -> Drawing | None:
    """The small drawing beside an advice item, if there is one."""
    return next((d for d in drawings() if d.kind == "cue" and item_id in d.items), None)
