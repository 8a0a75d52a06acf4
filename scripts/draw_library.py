"""Draw the library's exercise and cue illustrations as SVG line drawings (data/library/drawings/).

Each exercise drawing has a start panel (left) and a finish panel (right), a floor line and an arrow
for the movement. The figures are built from joint positions with human proportions (head about an
eighth of the height), so every drawing keeps the same look. Run `python scripts/draw_library.py`
after changing a figure; the manifest (drawings/manifest.yaml) is written too.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "data" / "library" / "drawings"
INK = "#145374"
FAR = "#7fa7bd"
FLOOR = "#8a949c"
ARROW = "#a64d00"
PANEL_W, PANEL_H = 120.0, 72.0
FLOOR_Y = 64.0
HEAD_R = 5.5
AUTHOR = "Stride contributors"
LICENCE = "MIT"

Point = tuple[float, float]


def _pts(points: list[Point], dx: float) -> str:
    return " ".join(f"{x + dx:.1f},{y:.1f}" for x, y in points)


def limb(points: list[Point], dx: float, colour: str = INK, width: float = 3.2) -> str:
    """A limb or trunk through joint points."""
    return (
        f'<polyline points="{_pts(points, dx)}" fill="none" stroke="{colour}" stroke-width="{width}" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
    )


def head(centre: Point, dx: float) -> str:
    """The head, a filled circle."""
    return f'<circle cx="{centre[0] + dx:.1f}" cy="{centre[1]:.1f}" r="{HEAD_R}" fill="{INK}"/>'


def arrow(points: list[Point], dx: float) -> str:
    """A movement arrow along points, with a filled head at the last point."""
    (x1, y1), (x2, y2) = points[-2], points[-1]
    angle = math.atan2(y2 - y1, x2 - x1)
    size = 4.2
    left = (x2 - size * math.cos(angle - 0.45), y2 - size * math.sin(angle - 0.45))
    right = (x2 - size * math.cos(angle + 0.45), y2 - size * math.sin(angle + 0.45))
    shaft = limb(points[:-1] + [(x2 - 2 * math.cos(angle), y2 - 2 * math.sin(angle))], dx, ARROW, 1.8)
    tip = f'<polygon points="{_pts([left, (x2, y2), right], dx)}" fill="{ARROW}"/>'
    return shaft + tip


def curve(centre: Point, radius: float, start_deg: float, end_deg: float, steps: int = 14) -> list[Point]:
    """Points on a circular arc (degrees, y down), for curved arrows."""
    return [
        (
            centre[0] + radius * math.cos(math.radians(start_deg + (end_deg - start_deg) * i / steps)),
            centre[1] + radius * math.sin(math.radians(start_deg + (end_deg - start_deg) * i / steps)),
        )
        for i in range(steps + 1)
    ]


def figure(joints: dict[str, list[Point]], dx: float) -> str:
    """Far limbs (lighter), trunk, near limbs and head of one figure."""
    parts = []
    for key in ("far_leg", "far_arm"):
        if key in joints:
            parts.append(limb(joints[key], dx, FAR))
    parts.append(limb(joints["trunk"], dx, INK, 4.6))
    for key in ("near_leg", "near_arm"):
        if key in joints:
            parts.append(limb(joints[key], dx))
    parts.append(head(joints["head"][0], dx))
    return "".join(parts)


def floor(dx: float) -> str:
    """The floor line of one panel."""
    return limb([(4, FLOOR_Y + 2.2), (PANEL_W - 4, FLOOR_Y + 2.2)], dx, FLOOR, 1.2)


def svg(title: str, start: str, finish: str, *, panels: int = 2) -> str:
    """A whole drawing: start panel, finish panel, divider and floor lines."""
    width = PANEL_W * panels
    body = floor(0) + start
    if panels == 2:
        body += (
            f'<line x1="{PANEL_W}" y1="8" x2="{PANEL_W}" y2="{PANEL_H - 4}" stroke="#c8d0d6" '
            'stroke-width="0.8" stroke-dasharray="2 2"/>' + floor(PANEL_W) + finish
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {PANEL_H:g}" '
        f'width="{width:g}mm" height="{PANEL_H:g}mm" role="img"><title>{title}</title>{body}</svg>\n'
    )


# Lying on the back, knees bent, feet flat: the shared start of several exercises.
SUPINE_BENT = {
    "head": [(13.0, FLOOR_Y - HEAD_R)],
    "trunk": [(21.0, 59.5), (54.0, 60.0)],
    "near_leg": [(54.0, 60.0), (72.0, 44.0), (86.0, 62.5), (93.0, 63.0)],
    "near_arm": [(24.0, 60.5), (38.0, 62.5), (50.0, 62.5)],
}


def pelvic_tilt() -> str:
    start = dict(SUPINE_BENT, trunk=[(21.0, 59.5), (36.0, 58.5), (46.0, 57.0), (54.0, 60.0)])
    finish = dict(SUPINE_BENT, trunk=[(21.0, 59.5), (54.0, 61.0)])
    return svg(
        "Pelvic tilt",
        figure(start, 0) + arrow([(41.0, 44.0), (41.0, 53.5)], 0),
        figure(finish, PANEL_W),
    )


def knee_to_chest() -> str:
    finish = {
        "head": [(13.0, FLOOR_Y - HEAD_R)],
        "trunk": [(21.0, 59.5), (54.0, 60.0)],
        "far_leg": [(54.0, 60.0), (72.0, 44.0), (86.0, 62.5), (93.0, 63.0)],
        "near_leg": [(54.0, 60.0), (40.0, 40.0), (59.0, 30.0), (62.0, 24.5)],
        "near_arm": [(24.0, 58.5), (32.0, 46.0), (41.0, 39.0)],
    }
    return svg(
        "Knee to chest",
        figure(SUPINE_BENT, 0) + arrow(curve((56.0, 52.0), 20.0, -80, -150), 0),
        figure(finish, PANEL_W),
    )


def bridge() -> str:
    finish = {
        "head": [(13.0, FLOOR_Y - HEAD_R)],
        "trunk": [(21.0, 59.5), (53.0, 45.0)],
        "near_leg": [(53.0, 45.0), (72.0, 38.0), (86.0, 62.5), (93.0, 63.0)],
        "near_arm": [(24.0, 60.5), (38.0, 62.5), (50.0, 62.5)],
    }
    return svg(
        "Bridge",
        figure(SUPINE_BENT, 0) + arrow([(54.0, 54.0), (54.0, 38.0)], 0),
        figure(finish, PANEL_W),
    )


# On hands and knees, seen from the side, head to the left.
QUADRUPED = {
    "head": [(22.0, 28.0)],
    "trunk": [(30.0, 32.0), (68.0, 32.0)],
    "near_arm": [(31.0, 32.0), (31.0, 48.0), (31.0, 63.5), (27.0, 63.5)],
    "far_arm": [(34.0, 32.0), (34.0, 48.0), (34.0, 63.5), (30.0, 63.5)],
    "near_leg": [(68.0, 32.0), (66.0, 63.0), (90.0, 63.5)],
    "far_leg": [(71.0, 32.0), (69.0, 63.0), (93.0, 63.5)],
}


def bird_dog() -> str:
    finish = dict(
        QUADRUPED,
        far_arm=[(34.0, 32.0), (18.0, 30.0), (4.0, 28.0)],
        near_leg=[(68.0, 32.0), (90.0, 31.0), (112.0, 30.0)],
    )
    return svg(
        "Arm and leg reach",
        figure(QUADRUPED, 0)
        + arrow(curve((31.0, 32.0), 24.0, 80, 165), 0)
        + arrow(curve((68.0, 32.0), 24.0, 95, 15), 0),
        figure(finish, PANEL_W),
    )


def plank() -> str:
    start = {
        "head": [(14.0, 52.5)],
        "trunk": [(22.0, 55.0), (58.0, 60.5)],
        "near_arm": [(22.0, 55.0), (22.0, 63.5), (36.0, 63.5)],
        "near_leg": [(58.0, 60.5), (84.0, 62.5), (104.0, 62.0), (106.0, 64.0)],
    }
    finish = {
        "head": [(14.0, 40.0)],
        "trunk": [(22.0, 44.0), (58.0, 50.5)],
        "near_arm": [(22.0, 44.0), (22.0, 63.5), (36.0, 63.5)],
        "near_leg": [(58.0, 50.5), (84.0, 56.0), (104.0, 61.0), (106.0, 64.0)],
    }
    return svg(
        "Plank",
        figure(start, 0) + arrow([(45.0, 50.0), (45.0, 36.0)], 0),
        figure(finish, PANEL_W),
    )


def open_book() -> str:
    # Seen from above the head: the figure lies on its side, knees bent in front (down the page),
    # and the top arm sweeps from the front across to the other side (up the page).
    def mat(dx: float) -> str:
        return (
            f'<rect x="{4 + dx}" y="6" width="{PANEL_W - 8}" height="{FLOOR_Y - 4}" rx="3" fill="none" '
            f'stroke="{FLOOR}" stroke-width="1.2"/>'
        )

    body = {
        "head": [(20.0, 36.0)],
        "trunk": [(28.0, 36.0), (64.0, 36.0)],
        "near_leg": [(64.0, 36.0), (80.0, 52.0), (100.0, 48.0)],
        "far_leg": [(64.0, 36.0), (82.0, 56.0), (102.0, 53.0)],
        "far_arm": [(32.0, 37.0), (34.0, 48.0), (36.0, 60.0)],
    }
    start = dict(body, near_arm=[(32.0, 36.0), (33.0, 47.0), (35.0, 58.0)])
    finish = dict(body, near_arm=[(32.0, 36.0), (33.0, 25.0), (35.0, 13.0)])
    return (
        svg(
            "Open book",
            mat(0) + figure(start, 0) + arrow(curve((32.0, 36.0), 24.0, 70, -70), 0),
            mat(PANEL_W) + figure(finish, PANEL_W),
        )
        .replace(floor(0), "")
        .replace(floor(PANEL_W), "")
    )


def exercise_bike() -> str:
    def bike(dx: float) -> str:
        frame = [(48.0, 34.0), (60.0, 52.0), (82.0, 30.0)]
        return (
            limb([(34.0, 64.0), (50.0, 30.0)], dx, FLOOR, 2.4)
            + limb([(40.0, 64.0), (96.0, 64.0)], dx, FLOOR, 2.4)
            + limb(frame, dx, FLOOR, 2.4)
            + limb([(82.0, 30.0), (88.0, 64.0)], dx, FLOOR, 2.4)
            + limb([(43.0, 31.0), (53.0, 31.0)], dx, FLOOR, 3.0)
            + limb([(80.0, 26.0), (86.0, 26.0)], dx, FLOOR, 3.0)
            + f'<circle cx="{60 + dx}" cy="52" r="6" fill="none" stroke="{FLOOR}" stroke-width="1.6"/>'
        )

    def rider(pedal_down_near: bool) -> dict[str, list[Point]]:
        low, high = (60.0, 58.5), (60.0, 45.5)
        near, far = (low, high) if pedal_down_near else (high, low)
        return {
            "head": [(58.0, 8.0)],
            "trunk": [(56.0, 14.0), (48.0, 30.0)],
            "near_arm": [(56.0, 16.0), (70.0, 22.0), (82.0, 26.0)],
            "near_leg": [(48.0, 30.0), (66.0, 34.0 if not pedal_down_near else 40.0), near],
            "far_leg": [(48.0, 30.0), (66.0, 34.0 if pedal_down_near else 40.0), far],
        }

    return svg(
        "Exercise bike",
        bike(0) + figure(rider(True), 0) + arrow(curve((60.0, 52.0), 10.0, 60, -200), 0),
        bike(PANEL_W) + figure(rider(False), PANEL_W),
    )


# Cue drawings: one panel each.
def walking_upright() -> str:
    fig = {
        "head": [(60.0, 9.0)],
        "trunk": [(60.0, 15.0), (60.0, 37.0)],
        "far_arm": [(60.0, 17.0), (66.0, 27.0), (72.0, 34.0)],
        "near_arm": [(60.0, 17.0), (54.0, 27.0), (50.0, 36.0)],
        "far_leg": [(60.0, 37.0), (53.0, 50.0), (48.0, 63.0), (53.0, 64.0)],
        "near_leg": [(60.0, 37.0), (67.0, 50.0), (72.0, 63.0), (78.0, 63.5)],
    }
    return svg("Walking tall with relaxed shoulders", figure(fig, 0), "", panels=1)


def walking_trolley() -> str:
    fig = {
        "head": [(46.0, 13.0)],
        "trunk": [(49.0, 19.0), (42.0, 39.0)],
        "near_arm": [(49.0, 21.0), (58.0, 29.0), (68.0, 31.0)],
        "far_leg": [(42.0, 39.0), (36.0, 51.0), (32.0, 63.0), (37.0, 64.0)],
        "near_leg": [(42.0, 39.0), (49.0, 51.0), (53.0, 63.0), (59.0, 63.5)],
    }
    trolley = (
        limb(
            [
                (66.0, 31.0),
                (70.0, 31.0),
                (74.0, 36.0),
                (104.0, 36.0),
                (100.0, 54.0),
                (78.0, 54.0),
                (74.0, 36.0),
            ],
            0,
            FLOOR,
            2.2,
        )
        + f'<circle cx="81" cy="60" r="3.5" fill="none" stroke="{FLOOR}" stroke-width="1.6"/>'
        + f'<circle cx="98" cy="60" r="3.5" fill="none" stroke="{FLOOR}" stroke-width="1.6"/>'
    )
    return svg("Leaning on a shopping trolley", trolley + figure(fig, 0), "", panels=1)


def sitting_forward() -> str:
    chair = limb([(36.0, 12.0), (36.0, 42.0), (62.0, 42.0), (62.0, 64.0)], 0, FLOOR, 2.4) + limb(
        [(36.0, 42.0), (36.0, 64.0)], 0, FLOOR, 2.4
    )
    fig = {
        "head": [(58.0, 16.0)],
        "trunk": [(54.0, 21.0), (42.0, 39.0)],
        "near_arm": [(53.0, 23.0), (60.0, 32.0), (68.0, 38.0)],
        "near_leg": [(42.0, 39.0), (68.0, 39.0), (70.0, 63.0), (77.0, 63.5)],
    }
    return svg("Sitting and leaning forward to ease the legs", chair + figure(fig, 0), "", panels=1)


EXERCISES = {
    "pelvic_tilt": (
        pelvic_tilt,
        "Start: lying on the back, knees bent. Finish: the lower back pressed gently to the floor.",
    ),
    "knee_to_chest": (
        knee_to_chest,
        "Start: lying on the back, knees bent. Finish: one knee held towards the chest.",
    ),
    "bridge": (bridge, "Start: lying on the back, knees bent. Finish: hips lifted off the floor."),
    "bird_dog": (
        bird_dog,
        "Start: on hands and knees. Finish: one arm reaching forward and the other leg back.",
    ),
    "plank": (plank, "Start: lying face down on the forearms. Finish: the body lifted in a straight line."),
    "open_book": (
        open_book,
        "Seen from above. Start: lying on the side, arms in front. "
        "Finish: the top arm opened to the other side.",
    ),
    "exercise_bike": (exercise_bike, "Pedalling an exercise bike, one pedal down then the other."),
}
CUES = {
    "walking_upright": (
        walking_upright,
        ["walking_technique"],
        "Walking tall with relaxed shoulders and an easy arm swing.",
    ),
    "walking_trolley": (
        walking_trolley,
        ["walking_intervals"],
        "Walking while leaning on a shopping trolley.",
    ),
    "sitting_forward": (
        sitting_forward,
        ["forward_lean"],
        "Sitting down and leaning forward a little to ease the legs.",
    ),
}


def main() -> None:
    """Write every drawing and the manifest."""
    OUT.mkdir(parents=True, exist_ok=True)
    entries = []
    for key, (draw, alt) in EXERCISES.items():
        (OUT / f"{key}.svg").write_text(draw(), encoding="utf-8")
        entries.append({"id": key, "file": f"{key}.svg", "kind": "exercise", "exercise": key, "alt": alt})
    for key, (draw, items, alt) in CUES.items():
        (OUT / f"{key}.svg").write_text(draw(), encoding="utf-8")
        entries.append({"id": key, "file": f"{key}.svg", "kind": "cue", "items": items, "alt": alt})
    manifest = {
        "author": AUTHOR,
        "licence": LICENCE,
        "note": "Drawn for Stride by scripts/draw_library.py; see LICENSE.",
        "drawings": [dict(entry, author=AUTHOR, licence=LICENCE) for entry in entries],
    }
    header = "# Illustrations of the library, written by scripts/draw_library.py: edit the script.\n"
    text = header + yaml.safe_dump(manifest, sort_keys=False, width=110)
    (OUT / "manifest.yaml").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
