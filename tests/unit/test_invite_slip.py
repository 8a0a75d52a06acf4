"""A patient's link as a QR code (SVG) and a printed slip (PDF), checked as segno and poppler see them.

The slip's first page is kept as test-artifacts/invite-slip.png, to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
import segno

from reports import invite_slip
from tests.conftest import ROOT, pdf_text

LINK = "https://clinic.example.org/checkin?t=Y2hBRRxJH7HFOe9vO7C3RWnp7x4dAILXxfTPbglI6ZE"
ENDS = dt.datetime(2026, 12, 7, 14, 30, tzinfo=ZoneInfo("Europe/London"))
ARTIFACT = ROOT / "test-artifacts" / "invite-slip"
SVG = "{http://www.w3.org/2000/svg}"


def poppler(tool: str, *args: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.fail(f"{tool} is missing: install poppler-utils (scripts/ensure-system-packages)")
    return subprocess.run([exe, *args], capture_output=True, check=True, timeout=60).stdout.decode()


@pytest.fixture(scope="module")
def slip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slip") / "slip.pdf"
    path.write_bytes(
        invite_slip.render_slip(
            clinic_name="Sampletown Physiotherapy",
            heading="Before your appointment: your check-in",
            link=LINK,
            ends=ENDS,
            note="Please fill this in before your appointment.",
            safety_net="Get help now: call 999 if you have numbness between your legs.",
            created=dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC),
        )
    )
    return path


def dark_cells_of_svg(svg: str) -> set[tuple[int, int]]:
    """The (column, row) of every dark module the SVG's path draws, quiet zone included."""
    path = ElementTree.fromstring(svg).find(f"{SVG}path")
    assert path is not None
    cells = set()
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.attrib["d"]):
        cells |= {(int(x) + i, int(y)) for i in range(int(length))}
    return cells


def test_the_svg_draws_exactly_segnos_modules_inside_the_quiet_zone() -> None:
    matrix = segno.make(LINK, error="m", micro=False, boost_error=False).matrix
    q = invite_slip.QUIET_ZONE
    expected = {(x + q, y + q) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}
    assert dark_cells_of_svg(invite_slip.qr_svg(LINK, title="QR code")) == expected


def test_the_svg_is_square_with_a_quiet_zone_and_an_escaped_title_for_screen_readers() -> None:
    svg = invite_slip.qr_svg(LINK, title="Code <new> & link", module_px=5)
    root = ElementTree.fromstring(svg)
    side = len(invite_slip.qr_modules(LINK)) + 2 * invite_slip.QUIET_ZONE
    assert root.attrib["viewBox"] == f"0 0 {side} {side}"
    assert root.attrib["width"] == root.attrib["height"] == str(side * 5)
    assert root.attrib["role"] == "img"
    assert root.findtext(f"{SVG}title") == "Code <new> & link"


def test_the_qr_code_is_a_full_qr_code_never_a_micro_one() -> None:
    modules = invite_slip.qr_modules("https://a.example/checkin?t=x")
    assert len(modules) >= 21 and all(len(row) == len(modules) for row in modules)


def test_the_slip_gives_the_link_as_text_and_when_it_ends(slip: Path) -> None:
    text = pdf_text(slip)
    assert LINK in "".join(text.split())  # wrapped by characters at the slip's edge
    words = " ".join(text.split())
    assert "This link works until 7 December 2026 at 14:30." in words
    assert "Sampletown Physiotherapy" in words and "call 999" in words


def test_the_slip_is_one_page_with_only_embedded_fonts(slip: Path) -> None:
    assert re.search(r"^Pages:\s+1$", poppler("pdfinfo", str(slip)), re.MULTILINE)
    rows = poppler("pdffonts", str(slip)).splitlines()[2:]
    assert rows
    for row in rows:
        _name, *_, emb, _sub, uni, _obj, _gen = row.split()
        assert (emb, uni) == ("yes", "yes"), row


def test_the_slips_page_renders_to_an_image_kept_as_an_artifact(slip: Path) -> None:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile", str(slip), str(ARTIFACT))
    image = ARTIFACT.with_suffix(".png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size > 5_000  # the code and the words, not a blank page


def test_the_end_is_written_as_patients_read_it() -> None:
    assert invite_slip.ends_words(dt.datetime(2027, 1, 3, 9, 5)) == "3 January 2027 at 09:05"
