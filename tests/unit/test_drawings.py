"""Every exercise of the library has a start-and-finish drawing listed in the manifest."""

from __future__ import annotations

import yaml
from defusedxml import ElementTree

from data.library import load_library
from reports.drawings import DRAWINGS_DIR, MANIFEST, drawings, exercise_drawing

SVG = "{http://www.w3.org/2000/svg}"


def test_every_exercise_of_the_library_has_a_drawing_with_a_manifest_entry() -> None:
    library = load_library()
    missing = [exercise.id for exercise in library.exercises if exercise_drawing(exercise.id) is None]
    assert missing == []


def test_every_manifest_entry_names_a_file_that_exists_and_parses_as_svg() -> None:
    for drawing in drawings():
        assert drawing.path.is_file(), drawing.id
        root = ElementTree.fromstring(drawing.path.read_bytes())
        assert root.tag == f"{SVG}svg", drawing.id
        assert root.get("viewBox"), drawing.id
        assert drawing.alt and drawing.author == "Stride contributors" and drawing.licence == "MIT"


def test_every_svg_beside_the_library_is_in_the_manifest() -> None:
    listed = {entry["file"] for entry in yaml.safe_load(MANIFEST.read_text())["drawings"]}
    assert {path.name for path in DRAWINGS_DIR.glob("*.svg")} == listed


def test_an_exercise_drawing_has_a_floor_line_two_panels_and_an_arrow() -> None:
    for drawing in drawings():
        if drawing.kind != "exercise":
            continue
        root = ElementTree.fromstring(drawing.path.read_bytes())
        _, _, width, _ = (float(v) for v in root.get("viewBox", "").split())
        assert width == 240, drawing.id  # two 120-unit panels: start left, finish right
        assert root.findall(f"{SVG}polygon"), f"{drawing.id} has no arrow head"
