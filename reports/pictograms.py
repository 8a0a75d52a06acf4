"""The exercise cards' stick-figure pictograms, drawn as vectors: for an exercise without a library
drawing (reports.drawings), and a standing figure for a pictogram key this renderer does not know.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

from reports.house_style import ACCENT, RULE, WHITE

# Stick figures on a 40 x 28 grid (x to the right, y down), scaled evenly into the card's box.
# "path": a limb or trunk through the points; "head": a filled circle; "floor": a light ground line
# at y; "wheel": an outlined circle; "arrow": a movement arrow; "arc": a dashed path of movement.
GRID_W, GRID_H = 40.0, 28.0
HEAD_R = 2.3
Shape = tuple[str, tuple[float, ...]]
PICTOGRAMS: dict[str, tuple[Shape, ...]] = {
    "pelvic_tilt": (
        ("floor", (25.5,)),
        ("head", (5.0, 22.8)),
        ("path", (8.0, 23.6, 20.0, 23.6, 26.0, 16.5, 31.0, 24.2, 34.0, 24.2)),
        ("arrow", (15.0, 13.5, 15.0, 21.0)),
    ),
    "knee_to_chest": (
        ("floor", (25.5,)),
        ("head", (5.0, 22.8)),
        ("path", (8.0, 23.6, 20.0, 23.6, 15.0, 15.5, 22.0, 12.0)),
        ("path", (8.5, 23.2, 14.5, 16.5)),
        ("path", (20.0, 23.6, 35.0, 24.2, 35.6, 21.5)),
    ),
    "bridge": (
        ("floor", (25.5,)),
        ("head", (4.5, 22.8)),
        ("path", (7.5, 23.8, 19.0, 17.0, 26.0, 15.5, 29.0, 24.2, 32.0, 24.2)),
        ("path", (8.0, 24.0, 16.0, 24.6)),
        ("arrow", (19.0, 13.5, 19.0, 6.5)),
    ),
    "bird_dog": (
        ("floor", (25.5,)),
        ("head", (8.0, 9.5)),
        ("path", (1.0, 15.5, 12.0, 13.0, 24.0, 13.0, 38.0, 11.5)),
        ("path", (12.0, 13.0, 12.0, 25.0)),
        ("path", (24.0, 13.0, 24.0, 25.0, 31.0, 25.0)),
    ),
    "plank": (
        ("floor", (25.5,)),
        ("head", (4.8, 15.0)),
        ("path", (2.5, 25.0, 8.0, 25.0, 8.0, 17.0, 36.0, 23.5, 37.5, 25.0)),
    ),
    # Seen from the head end: lying on the side, the top arm opens from the front to the back.
    "open_book": (
        ("floor", (25.5,)),
        ("head", (20.0, 21.0)),
        ("path", (20.0, 23.6, 35.0, 24.2)),
        ("path", (20.0, 21.5, 9.0, 12.0)),
        ("arc", (20.0, 22.5, 13.0, -140.0, -5.0)),
    ),
    "cycling": (
        ("floor", (26.5,)),
        ("path", (9.0, 26.0, 33.0, 26.0)),
        ("path", (15.0, 26.0, 16.5, 15.5)),
        ("path", (13.0, 15.5, 20.0, 15.5)),
        ("path", (27.0, 26.0, 30.5, 11.0, 33.5, 10.5)),
        ("wheel", (28.0, 21.5, 4.0)),
        ("head", (23.3, 3.6)),
        ("path", (16.5, 14.5, 21.0, 6.5, 31.0, 11.0)),
        ("path", (16.5, 14.5, 24.0, 16.5, 22.0, 23.0)),
    ),
}
# A standing figure for a card whose pictogram this renderer does not know.
_FALLBACK_PICTOGRAM: tuple[Shape, ...] = (
    ("floor", (26.5,)),
    ("head", (20.0, 4.0)),
    ("path", (20.0, 6.5, 20.0, 16.0)),
    ("path", (17.0, 26.0, 20.0, 16.0, 23.0, 26.0)),
    ("path", (15.5, 14.0, 20.0, 8.5, 24.5, 14.0)),
)


def draw_pictogram(pdf: FPDF, key: str, x_mm: float, y_mm: float, w_mm: float, h_mm: float) -> None:
    """Draw an exercise's stick-figure pictogram in a framed box (position and size in mm)."""
    pdf.set_fill_color(*WHITE)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.rect(x_mm, y_mm, w_mm, h_mm, style="DF")
    pad = 2.0
    scale = min((w_mm - 2 * pad) / GRID_W, (h_mm - 2 * pad) / GRID_H)
    left = x_mm + (w_mm - GRID_W * scale) / 2
    top = y_mm + (h_mm - GRID_H * scale) / 2

    def points(values: Sequence[float]) -> list[tuple[float, float]]:
        return [(left + values[i] * scale, top + values[i + 1] * scale) for i in range(0, len(values), 2)]

    limb_mm = 0.9 * scale / 0.75
    with pdf.local_context(stroke_cap_style="ROUND", stroke_join_style="ROUND"):
        pdf.set_fill_color(*ACCENT)
        for kind, args in PICTOGRAMS.get(key, _FALLBACK_PICTOGRAM):
            pdf.set_draw_color(*(RULE if kind == "floor" else ACCENT))
            pdf.set_line_width(limb_mm)
            if kind == "floor":
                pdf.set_line_width(0.3)
                pdf.line(left, top + args[0] * scale, left + GRID_W * scale, top + args[0] * scale)
            elif kind == "path":
                pdf.polyline(points(args))
            elif kind == "head":
                ((cx, cy),) = points(args)
                pdf.circle(cx, cy, HEAD_R * scale, style="F")
            elif kind == "wheel":
                ((cx, cy),) = points(args[:2])
                pdf.set_line_width(limb_mm * 0.7)
                pdf.circle(cx, cy, args[2] * scale)
            elif kind == "arc":
                ((cx, cy),) = points(args[:2])
                radius = args[2] * scale
                pdf.set_line_width(0.4)
                pdf.set_dash_pattern(dash=0.9, gap=0.9)
                pdf.arc(cx - radius, cy - radius, 2 * radius, args[3], args[4])
                pdf.set_dash_pattern()
            elif kind == "arrow":
                (x1, y1), (x2, y2) = points(args)
                pdf.set_line_width(0.5)
                head = 1.4 if y2 > y1 else -1.4
                pdf.polyline([(x1, y1), (x2, y2)])
                pdf.polyline([(x2 - 1.2, y2 - head), (x2, y2), (x2 + 1.2, y2 - head)])
