"""The faces the PDFs print with: the bundled DejaVu Sans (parsed once per process), fallback faces for
letters it lacks, the script faces of the handout's languages (shaped with uharfbuzz, right to left
where the script is), and the check for letters no face of a document could draw.
"""

from __future__ import annotations

import copy
import struct
import threading
import unicodedata
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

from fontTools import ttLib
from fpdf import FPDF
from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.unicode_script import UnicodeScript, get_unicode_script

# A TrueType glyph's header: its number of contours and its bounding box (font units).
_GLYPH_HEADER = struct.Struct(">5h")

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "dejavu"
FONT_FILES: dict[str, Path] = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}
# Parse each TTF once per process and hand every new document a fresh copy of the parsed metrics:
# fpdf2 parses a font on every add_font (~20 ms a face). False falls back to plain add_font.
REUSE_PARSED_FONTS = True


# Layout tables fpdf2 drops from every embedded subset (harfbuzz shapes from the file itself); the
# subsetter would still parse them first, to see whether they need compacting (~3 ms a DejaVu face).
LAYOUT_TABLES = ("GDEF", "GPOS", "GSUB")


class GlyphData(ttLib.getTableClass("glyf")):  # type: ignore[misc]
    """A face's glyph table lent to one document: the glyphs are the face's, read once per process,
    and those the document keeps are copied before the subsetter renumbers or trims them."""

    glyphs: dict[str, Any]

    def subset_glyphs(self, s: Any) -> bool:
        """Keep the glyphs the subset needs (fontTools' subsetting), each as this document's copy."""
        self.glyphs = {name: _copied(self.glyphs[name]) for name in s.glyphs if name in self.glyphs}
        return bool(super().subset_glyphs(s))


def _copied(glyph: Any) -> Any:
    """A shallow copy of a glyph (its outline data, read or decoded), without copy.copy's detour."""
    twin = object.__new__(type(glyph))
    twin.__dict__.update(glyph.__dict__)
    return twin


@dataclass(frozen=True)
class FaceTables:
    """The tables of a face every embedded subset starts from, parsed once per process (~20 ms a
    DejaVu face): glyph order, glyphs, advances, names and character maps. Never changed: each
    document is lent shallow copies, and the subsetter replaces what it subsets on the copy."""

    glyph_order: tuple[str, ...]
    glyf: Any
    hmtx: Any
    post: Any
    cmap: Any

    @classmethod
    def read(cls, raw: bytes) -> FaceTables:
        """A face's tables, from its file's bytes."""
        font = ttLib.TTFont(BytesIO(raw), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
        glyf = GlyphData("glyf")
        glyf.__dict__.update(font["glyf"].__dict__)
        for table in font["cmap"].tables:
            table.ensureDecompiled()
        return cls(tuple(font.getGlyphOrder()), glyf, font["hmtx"], font["post"], font["cmap"])

    def lend(self, program: ttLib.TTFont) -> None:
        """Give one document's font program copies of these tables in place of parsing its own."""
        program.setGlyphOrder(list(self.glyph_order))
        glyf = copy.copy(self.glyf)
        glyf.glyphs = dict(self.glyf.glyphs)
        cmap = copy.copy(self.cmap)
        cmap.tables = [copy.copy(table) for table in self.cmap.tables]
        tables = {"glyf": glyf, "hmtx": copy.copy(self.hmtx), "post": copy.copy(self.post), "cmap": cmap}
        program.tables.update(tables)


class EmbeddedProgram(ttLib.TTFont):
    """A face's font program as one document embeds it (fpdf2 subsets it in place on output, then
    saves it), started from the face's tables parsed once per process (FaceTables). The glyphs kept
    are saved as read: fontTools would otherwise decode and encode every one of them again to
    recompute bounding boxes (~10 ms a face a document). Only the font's own bounding box is set from
    the glyphs kept, as that recomputation set it: PDF rasterisers read it (poppler places glyphs
    differently with the whole face's box)."""

    def __init__(self, raw: bytes, tables: FaceTables | None = None) -> None:
        super().__init__(BytesIO(raw), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
        if "GPOS" in self and "kern" in self:
            del self["kern"]  # as the subsetter drops it beside a GPOS table (its legacy_kern off)
        for tag in LAYOUT_TABLES:
            if tag in self:
                del self[tag]
        if tables is not None:
            tables.lend(self)

    def save(self, file: Any, reorderTables: bool | None = True) -> None:
        """Save the program with the bounding box (font units) of the glyphs it holds."""
        box = glyphs_box(self["glyf"])
        if box is not None:
            head = self["head"]
            head.xMin, head.yMin, head.xMax, head.yMax = box
        super().save(file, reorderTables)


def glyphs_box(glyf: Any) -> tuple[int, int, int, int] | None:
    """The union of the glyphs' bounding boxes (font units), read from each glyph's header
    without decoding its outline; None for a table of empty glyphs."""
    boxes = []
    for glyph in glyf.glyphs.values():
        data = getattr(glyph, "data", None)
        if data is None and glyph.numberOfContours != 0:  # decoded by the subsetter
            boxes.append((glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax))
        elif data is not None and len(data) >= _GLYPH_HEADER.size:
            boxes.append(_GLYPH_HEADER.unpack_from(data)[1:])
    if not boxes:
        return None
    x_min, y_min, x_max, y_max = zip(*boxes, strict=True)
    return min(x_min), min(y_min), max(x_max), max(y_max)


def _run_key(text: str, size_pt: float, params: dict[str, Any] | None) -> tuple[Any, ...]:
    """What harfbuzz's result for a run depends on in one face: its text, size and settings."""
    found = params or {}
    features = tuple(sorted((found.get("features") or {}).items()))
    direction, script = found.get("fragment_direction"), found.get("script")
    return (text, size_pt, direction, script, found.get("language"), features)


class ShapedGlyph(NamedTuple):
    """One glyph harfbuzz chose for a run: the face's glyph, the letters it stands for (for copy and
    search), its advance in the face (PDF glyph space units) and harfbuzz's placement (font units)."""

    glyph_id: int
    letters: tuple[int, ...]
    glyph_name: str
    width: int
    x_advance: int
    y_advance: int
    x_offset: int
    y_offset: int

    @property
    def moved(self) -> bool:
        """True when harfbuzz placed the glyph other than by its own advance (a mark, a kerned pair)."""
        return bool(self.width != self.x_advance or self.x_offset or self.y_offset or self.y_advance)


@dataclass(frozen=True, slots=True)
class ShapedRun:
    """A run as harfbuzz shaped it in one face: the same in every document, so kept per process."""

    glyphs: tuple[ShapedGlyph, ...]
    width_pt: float


# Shaped runs kept per process: a handout is mostly the library's sentences, the same for every patient
# in a language (a few hundred runs a language and style), so the next handout in that language shapes
# only what is its own (name, notes, dates). Bounded, least recently used first out (~4 kB a run).
SHAPED_RUNS_KEPT = 4096
_shaped_runs: OrderedDict[tuple[Any, ...], ShapedRun] = OrderedDict()
_shaped_runs_lock = threading.Lock()


def letters_by_cluster(text: str, clusters: Sequence[int]) -> dict[int, list[int]]:
    """The letters (code points) of `text` each harfbuzz cluster stands for: a letter belongs to the
    cluster starting at it, else to the one before it, else (before the first) to the first."""
    starts = sorted(set(clusters))
    found: dict[int, list[int]] = {}
    for index, char in enumerate(text):
        cluster = starts[max(bisect_right(starts, index) - 1, 0)]
        found.setdefault(cluster, []).append(ord(char))
    return found


class ShapedFace(TTFFont):
    """A TrueType face whose runs are shaped once per process (fpdf2 2.8.9 asks harfbuzz three times
    for every run it prints, twice for its width and once for its glyphs, and maps the glyphs again for
    every repeat of a run) and mapped into a document's subset once per document."""

    __slots__ = ("face_key", "glyph_names", "advances", "set_runs", "set_glyphs")

    def __init__(self, fpdf: FPDF, path: Path, fontkey: str, style: str) -> None:
        super().__init__(fpdf, path, fontkey, style)
        self.face_key = (str(path), style)
        self.glyph_names: tuple[str, ...] = tuple(self.ttfont.getGlyphOrder())
        metrics = self.ttfont["hmtx"].metrics
        self.advances: tuple[int, ...] = tuple(round(self.scale * metrics[n][0]) for n in self.glyph_names)
        self.set_runs: dict[tuple[Any, ...], Sequence[dict[str, Any]]] = {}
        self.set_glyphs: dict[ShapedGlyph, dict[str, Any]] = {}

    def shaped_run(self, text: str, font_size_pt: float, params: dict[str, Any] | None) -> ShapedRun:
        """harfbuzz's glyphs for a run in this face, from the process's earlier shaping if any."""
        key = (self.face_key, *_run_key(text, font_size_pt, params))
        with _shaped_runs_lock:
            found = _shaped_runs.get(key)
            if found is not None:
                _shaped_runs.move_to_end(key)
                return found
        infos, positions = self.perform_harfbuzz_shaping(text, font_size_pt, params)
        infos, positions = infos or (), positions or ()  # None: nothing to print
        letters = letters_by_cluster(text, [int(info.cluster) for info in infos])
        glyphs = []
        width_pt = 0.0
        for info, position in zip(infos, positions, strict=True):
            glyph_id = int(info.codepoint)
            name = self.glyph_names[glyph_id] if glyph_id < len(self.glyph_names) else f"glyph{glyph_id:05d}"
            width = self.advances[glyph_id] if glyph_id < len(self.advances) else 0
            glyphs.append(
                ShapedGlyph(
                    glyph_id,
                    tuple(letters.pop(int(info.cluster), ())),
                    name,
                    width,
                    position.x_advance,
                    position.y_advance,
                    position.x_offset,
                    position.y_offset,
                )
            )
            # Summed as fpdf2 sums a shaped run's width, so a line breaks where it would.
            width_pt += round(self.scale * position.x_advance + 0.001) * font_size_pt * 0.001
        run = ShapedRun(tuple(glyphs), width_pt)
        with _shaped_runs_lock:
            _shaped_runs[key] = run
            while len(_shaped_runs) > SHAPED_RUNS_KEPT:
                _shaped_runs.popitem(last=False)
        return run

    def shaped_text_width(
        self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None
    ) -> tuple[int, float]:
        """A run's glyph count and width (points) as harfbuzz shaped it."""
        run = self.shaped_run(text, font_size_pt, text_shaping_params)
        return len(run.glyphs), run.width_pt

    def shape_text(
        self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None
    ) -> Sequence[dict[str, Any]]:
        """A run's glyphs as mapped into this document's subset, once per run a document (fpdf2 reads
        them, never changes them; mapping them again would pick the same subset codes)."""
        if not text:
            return []
        key = _run_key(text, font_size_pt, text_shaping_params)
        found = self.set_runs.get(key)
        if found is None:
            run = self.shaped_run(text, font_size_pt, text_shaping_params)
            found = self.set_runs[key] = self._mapped(run)
        return found

    def _mapped(self, run: ShapedRun) -> list[dict[str, Any]]:
        """A shaped run's glyphs with their codes in this document's subset, as fpdf2 renders them
        (one entry per glyph and placement a document: fpdf2 only reads them)."""
        mapped = []
        for glyph in run.glyphs:
            entry = self.set_glyphs.get(glyph)
            if entry is None:
                entry = self.set_glyphs[glyph] = self._map_glyph(glyph)
            if entry:
                mapped.append(entry)
        return mapped

    def _map_glyph(self, glyph: ShapedGlyph) -> dict[str, Any]:
        """One glyph added to this document's subset; empty when fpdf2 leaves it out."""
        chosen = self.subset.get_glyph(
            glyph=glyph.glyph_id, unicode=glyph.letters, glyph_name=glyph.glyph_name, glyph_width=glyph.width
        )
        if chosen is None:
            return {}
        return {
            "mapped_char": self.subset.pick_glyph(chosen),
            "x_advance": glyph.x_advance,
            "y_advance": glyph.y_advance,
            "x_offset": glyph.x_offset,
            "y_offset": glyph.y_offset,
            "force_positioning": glyph.moved,
        }


def release_shaping(pdf: FPDF) -> None:
    """Drop a finished document's mapped runs: a document is freed only by Python's cyclic garbage
    collector (its faces and their subsets refer to each other), and the collection that frees
    thousands of them lands on whatever runs next (+70 ms on an English render)."""
    for font in pdf.fonts.values():
        if isinstance(font, ShapedFace):
            font.set_runs.clear()
            font.set_glyphs.clear()


_font_lock = threading.Lock()
_font_templates: dict[tuple[str, str, Path], tuple[ShapedFace, bytes, FaceTables]] = {}


def _font_template(
    style: str, family: str = FONT_FAMILY, path: Path | None = None
) -> tuple[ShapedFace, bytes, FaceTables]:
    """A face parsed once per process (the bundled DejaVu by default), its file's bytes and the
    tables its embedded subsets start from."""
    path = FONT_FILES[style] if path is None else path
    key = (family, style, path)
    with _font_lock:
        if key not in _font_templates:
            template = ShapedFace(FPDF(), path, f"{family}{style}", style)
            template.ttfont.close()  # every document opens its own copy from the bytes below
            raw = path.read_bytes()
            _font_templates[key] = (template, raw, FaceTables.read(raw))
        return _font_templates[key]


def add_face(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """Give a document one face (family and style "" or "B") from its parsed template."""
    if not REUSE_PARSED_FONTS:
        pdf.add_font(family, style, path)
        return
    template, raw, tables = _font_template(style, family, path)
    font = copy.copy(template)
    # What one document changes is made fresh: its number, its glyph subset and the font
    # program (fpdf2 subsets it in place on output), the descriptor it numbers on output, and
    # the harfbuzz font (fpdf2 sets its size on every shaping call) and the runs it shaped.
    font.i = len(pdf.fonts) + 1
    font.ttfont = EmbeddedProgram(raw, tables)
    font.desc = copy.copy(template.desc)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    font._hbfont = None
    font.set_runs, font.set_glyphs = {}, {}
    pdf.fonts[f"{family}{style}"] = font


def add_fonts(pdf: FPDF) -> None:
    """Give a document the bundled DejaVu faces (regular and bold), from the parsed templates."""
    for style, path in FONT_FILES.items():
        add_face(pdf, FONT_FAMILY, style, path)


# Faces for letters DejaVu lacks (names in CJK or Devanagari, for example), from Debian's
# fonts-droid-fallback and fonts-freefont-ttf; scripts/ensure-system-packages installs them.
FALLBACK_FONT_FILES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


def _uncovered(text: str, language: str = "en") -> set[str]:
    """Letters of `text` neither the bundled DejaVu face nor the language's script face can draw."""
    drawable = _font_template("")[0].cmap
    uncovered = {char for char in text if not char.isspace() and ord(char) not in drawable}
    script = script_for(language)
    if uncovered and script is not None:
        cmap = _font_template("", script.family, script.files[""])[0].cmap
        uncovered = {char for char in uncovered if ord(char) not in cmap}
    return uncovered


def add_fallback_fonts(pdf: FPDF, text: str, language: str = "en") -> list[str]:
    """Give a document the fallback faces when `text` has letters neither DejaVu nor the language's
    script face can draw; their family names."""
    # Parsed only when needed: the CJK face is large (~250 ms) and most handouts never use it.
    if not _uncovered(text, language):
        return []
    names = []
    for index, path in enumerate(FALLBACK_FONT_FILES):
        if path.exists():
            pdf.add_font(f"fallback{index}", "", path)
            names.append(f"fallback{index}")
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)
    return names


# Names in right-to-left scripts are shaped (uharfbuzz) and laid out with the Unicode bidirectional
# algorithm, in a Naskh face from Debian's fonts-noto-core (scripts/ensure-system-packages); without
# it DejaVu's own Arabic letters are shaped instead. Whole right-to-left handouts come later (§14).
NOTO_DIR = Path("/usr/share/fonts/truetype/noto")
RTL_FAMILY = "naskh"
RTL_FONT_FILES: dict[str, Path] = {
    "": NOTO_DIR / "NotoNaskhArabic-Regular.ttf",
    "B": NOTO_DIR / "NotoNaskhArabic-Bold.ttf",
}


@dataclass(frozen=True)
class Script:
    """The face, shaping and direction a handout language is printed with."""

    family: str
    files: dict[str, Path]
    harfbuzz_script: str
    rtl: bool


# Urdu is printed in Noto Naskh Arabic too: Noto Nastaliq Urdu (also in fonts-noto-core) needs far
# taller lines than this layout gives, and Naskh is widely read by Urdu readers.
SCRIPTS: dict[str, Script] = {
    "ar": Script(RTL_FAMILY, RTL_FONT_FILES, "arab", rtl=True),
    "ur": Script(RTL_FAMILY, RTL_FONT_FILES, "arab", rtl=True),
    "bn": Script(
        "bengali",
        {"": NOTO_DIR / "NotoSansBengali-Regular.ttf", "B": NOTO_DIR / "NotoSansBengali-Bold.ttf"},
        "beng",
        rtl=False,
    ),
}


def script_for(language: str) -> Script | None:
    """The script face for a language, or None for one DejaVu prints (Latin, e.g. es and pl)."""
    found = SCRIPTS.get(language.split("-", 1)[0].lower())
    if found is None or not all(path.exists() for path in found.files.values()):
        return None
    return found


# Bidirectional classes (Unicode UAX #9) that can make the algorithm split a line into runs or raise a
# part of it: explicit embeddings, overrides and isolates, and a paragraph separator; then, per the
# paragraph's direction, the strong letters of the other direction and the numbers that nest in it.
_EXPLICIT_CLASSES = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "B"})
_SPLITS_LTR = _EXPLICIT_CLASSES | {"R", "AL", "AN"}
_SPLITS_RTL = _EXPLICIT_CLASSES | {"L", "EN", "AN"}


def one_direction(text: str, rtl: bool) -> bool:
    """True when the bidirectional algorithm returns the whole line as one run in the paragraph's
    direction (right to left when `rtl`): it holds no letter of the other direction, no number
    inside right-to-left text and no explicit embedding, so every letter resolves to the base level."""
    splits = _SPLITS_RTL if rtl else _SPLITS_LTR
    return not any(unicodedata.bidirectional(char) in splits for char in text)


# Letters that take the script of the run they fall in: spaces, digits and punctuation, and the
# combining marks (Arabic vowel marks and tanween, Bengali's zero-width joiners) of Unicode's Inherited
# script (UAX #24). fpdf2 2.8.9 starts a run at an Inherited mark, so the letters either side are
# shaped apart and Arabic letters lose their joining ("شيئًا" printed as "شيئ ًا").
_SCRIPTLESS = frozenset({UnicodeScript.COMMON, UnicodeScript.UNKNOWN, UnicodeScript.INHERITED})


@cache
def run_script(char: str) -> UnicodeScript | None:
    """The script a letter starts or continues a run of; None for one that joins whatever run it is in."""
    script = get_unicode_script(char)
    return None if script in _SCRIPTLESS else script


@lru_cache(maxsize=4096)
def direction_runs(text: str, direction: TextDirection) -> tuple[tuple[str, TextDirection], ...]:
    """A line's runs of one direction by the Unicode bidirectional algorithm (fpdf2's), in a paragraph
    of `direction`; the same in every document, so kept per process (the lines of a handout's
    library, a few thousand at most)."""
    paragraph = BidiParagraph(text=text, base_direction=direction, preserve_bn_chars=True)
    return tuple(paragraph.get_bidi_fragments())


def has_rtl(text: str) -> bool:
    """True when the text holds a right-to-left letter (Arabic, Hebrew, Syriac, Thaana...)."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def undrawable_letters(text: str, language: str = "en") -> set[str]:
    """Letters of `text` that no available face can draw: not DejaVu, not the language's own script
    face, not a fallback face (printed as empty boxes)."""
    uncovered = _uncovered(text, language)
    for path in FALLBACK_FONT_FILES:
        if uncovered and path.exists():
            cmap = ttLib.TTFont(path, lazy=True).getBestCmap()
            uncovered = {char for char in uncovered if ord(char) not in cmap}
    return uncovered


def notdef_letters(pdf: FPDF, texts: Sequence[str]) -> frozenset[str]:
    """Letters of `texts` a rendered document printed as an empty box (.notdef) or left out."""
    # A letter no face of the document has is drawn as an empty box, or (shaped) left out: both
    # are counted, from the faces' character maps and from fpdf2's own list of missing glyphs.
    covered = [font.cmap for font in pdf.fonts.values() if isinstance(font, TTFFont)]
    letters = {
        char
        for text in texts
        for char in text
        if not char.isspace()
        and unicodedata.category(char) != "Cf"
        and not any(ord(char) in c for c in covered)
    }
    for font in pdf.fonts.values():
        if not isinstance(font, TTFFont):
            continue
        for glyph, _ in font.subset.items():
            # The subset's own .notdef is U+0000; any other letter mapped to glyph 0 is an empty box.
            if glyph is not None and glyph.glyph_id == 0:
                codes = glyph.unicode if isinstance(glyph.unicode, tuple) else (glyph.unicode,)
                letters.update(chr(code) for code in codes if code)
        letters.update(chr(code) for code in font.missing_glyphs)
    return frozenset(letters)
