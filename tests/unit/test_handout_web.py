"""The web version of the handout (issue 23): the PDF's content as accessible HTML, escaped, in its
language's direction, with every exercise drawn and named, and nothing loaded from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from dashboard.config import load_settings
from dashboard.handout_language import choose_handout
from dashboard.plan import SECTION_HEADINGS, Plan, build_plan, placeholder_values
from data.library import load_library
from reports import i18n
from reports.drawings import exercise_drawing
from reports.handout_web import direction, provenance_line, render_html
from tests.factories import make_patient, make_visit

LIBRARY = load_library()
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
PLAN = build_plan(
    make_patient(given_name=HOSTILE),
    [
        make_visit(
            walk_protocol="reported", walk_total_min=10, psfs=[{"activity": "<b>walk</b> dog", "score": 4}]
        )
    ],
    LIBRARY,
    clinician_name="Dr <i>Evil</i>",
).model_copy(update={"personal_note": 'Walk "daily" & <em>rest</em>'})


class Outline(HTMLParser):
    """Headings (level, text), elements by tag with their attributes, and script or outside loads."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._heading: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [tag]

    def handle_endtag(self, tag: str) -> None:
        if self._heading and tag == self._heading[0]:
            self.headings.append((int(tag[1]), "".join(self._heading[1:]).strip()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def outline(page: str) -> Outline:
    parser = Outline()
    parser.feed(page)
    return parser


def arabic(review: bool = False) -> tuple[Plan, dict[str, object]]:
    translation = i18n.translate_plan(PLAN, LIBRARY, "ar", placeholder_values(load_settings({})))
    assert translation is not None
    choice = choose_handout(PLAN, translation, None, chosen="ar")
    return choice.plan, {**choice.render_options(large_print=False), "provenance": choice.provenance()}


def test_a_hostile_name_note_goal_and_clinician_are_shown_as_text_never_as_markup() -> None:
    page = render_html(PLAN)
    parsed = outline(page)
    assert not parsed.all("script") and not parsed.all("i") and not parsed.all("em") and not parsed.all("b")
    assert not any("onerror" in attrs for _, attrs in parsed.tags)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert HOSTILE in text and "Dr <i>Evil</i>" in text and 'Walk "daily" & <em>rest</em>' in text
    assert "<b>walk</b> dog" in text


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_script() -> None:
    page = render_html(PLAN)
    parsed = outline(page)
    assert not parsed.all("script") and not parsed.all("link") and not parsed.all("iframe")
    assert not re.search(r"(?:src|href)=\"(?!data:)", page)
    assert "url(" not in page and "@import" not in page
    [policy] = [a for a in parsed.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy["content"].startswith("default-src 'none'")


def test_an_english_page_is_left_to_right_with_every_section_under_headings_in_order() -> None:
    parsed = outline(render_html(PLAN))
    [html_tag] = parsed.all("html")
    assert (html_tag["lang"], html_tag["dir"]) == ("en", "ltr")
    levels = [level for level, _ in parsed.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))  # no level skipped
    sections = [text for level, text in parsed.headings if level == 2]
    order = ("goals", "core", "walking", "exercises", "posture", "footwear", "flare_up", "personal_note")
    present = {"goals": PLAN.goals, "exercises": PLAN.exercises, "personal_note": PLAN.personal_note}
    expected = [SECTION_HEADINGS[key] for key in order if present.get(key) or PLAN.section(key)]  # type: ignore[arg-type]
    assert len(expected) == len(order)  # the test plan has every section
    assert sections == [*expected, SECTION_HEADINGS["safety_net"]]  # the box last unless safety comes first
    for item in [i for key in PLAN.sections for i in PLAN.sections[key]]:
        assert item.title in [text for level, text in parsed.headings if level == 3]
    goals = "".join(parsed.text)
    assert "<b>walk</b> dog" in goals
    assert len(parsed.all("table")) >= 1 and "Minutes a week" in goals  # the walking programme


def test_the_safety_net_is_a_landmark_named_by_its_heading() -> None:
    page = render_html(PLAN)
    aside = re.search(
        r'<aside aria-labelledby="([^"]+)" class="safety-net"><h2 id="([^"]+)">([^<]+)</h2>', page
    )
    assert aside is not None and aside.group(1) == aside.group(2) and aside.group(3) == "When to get help"
    box = "".join(outline(page[aside.start() : page.index("</aside>")]).text)
    assert PLAN.safety_net
    for item in PLAN.safety_net:
        assert item.title in box and all(bullet in box for bullet in item.bullets)


def test_with_safety_first_the_box_comes_straight_after_the_masthead() -> None:
    page = render_html(PLAN.model_copy(update={"safety_first": True}))
    assert page.index('class="safety-net"') < page.index(SECTION_HEADINGS["core"])
    assert "Please read the box below first." in page


def test_every_exercise_has_its_drawing_with_alt_text_inline_or_as_an_image() -> None:
    assert PLAN.exercises
    for inline in (True, False):
        page = render_html(PLAN, inline_svg=inline, fragment=not inline)
        parsed = outline(page)
        pictures = parsed.all("svg") if inline else parsed.all("img")
        labels = [attrs.get("aria-label" if inline else "alt", "") for attrs in pictures]
        for exercise in PLAN.exercises:
            drawing = exercise_drawing(exercise.id)
            assert drawing is not None and drawing.alt in labels, exercise.id
        if inline:
            assert all(a.get("role") == "img" for a in pictures)
        else:
            assert all(a["src"].startswith("data:image/svg+xml;base64,") for a in pictures)
            assert not parsed.all("svg")  # st.html's sanitizer would strip inline SVG


def test_a_fragment_has_no_document_around_it_and_keeps_its_language_on_the_article() -> None:
    plan, options = arabic()
    page = render_html(plan, **options, fragment=True)  # type: ignore[arg-type]
    parsed = outline(page)
    assert not parsed.all("html") and not parsed.all("main") and not parsed.all("body")
    [article] = parsed.all("article")
    assert (article["lang"], article["dir"]) == ("ar", "rtl")
    # Every rule is scoped to the plan, so st.html's style cannot restyle the rest of the app.
    style = page[page.index("<style>") + 7 : page.index("</style>")]
    for rule in re.findall(r"(?:^|})\s*([^{}@]+){", style):
        assert all(part.strip().startswith(".stride-plan") for part in rule.split(",") if part.strip()), rule


def test_an_arabic_plan_is_right_to_left_with_the_translated_safety_net_and_the_review_note() -> None:
    plan, options = arabic()
    page = render_html(plan, **options)  # type: ignore[arg-type]
    parsed = outline(page)
    [html_tag] = parsed.all("html")
    assert (html_tag["lang"], html_tag["dir"]) == ("ar", "rtl")
    catalogue = i18n.catalogue("ar")
    assert catalogue is not None
    heading = catalogue.get("When to get help")
    assert heading and heading in [text for level, text in parsed.headings if level == 2]
    box = "".join(outline(page[page.index('class="safety-net"') : page.index("</aside>")]).text)
    for item in plan.safety_net:
        assert item.title in box  # the translated items, in the box
    assert 'class="review-note" role="note"' in page
    assert "Translation not yet reviewed by a clinician." in page
    assert "awaiting clinical review" in page and "catalogue " in page  # the provenance line


def test_the_bilingual_layout_puts_each_english_paragraph_above_its_translation() -> None:
    plan, options = arabic()
    page = render_html(plan, **options)  # type: ignore[arg-type]
    english, translated = PLAN.section("core")[0], plan.section("core")[0]
    assert english.title != translated.title
    block = page.index(f'<div class="english" lang="en" dir="ltr"><h3>{english.title}</h3>')
    assert block < page.index(f"<h3>{translated.title}</h3>")
    assert PLAN.exercises[0].name in page and plan.exercises[0].name in page


def test_without_the_bilingual_layout_no_english_paragraph_is_shown() -> None:
    plan, options = arabic()
    page = render_html(plan, **{**options, "bilingual_with": None})  # type: ignore[arg-type]
    assert 'class="english"' not in page


def test_a_name_in_another_script_is_isolated_in_its_sentence() -> None:
    plan = PLAN.model_copy(update={"patient_display_name": "أحمد Smith"})
    assert "<bdi>أحمد Smith</bdi>" in render_html(plan)


def test_urdu_is_right_to_left_and_bengali_spanish_polish_left_to_right() -> None:
    assert [direction(code) for code in ("ar", "ur", "bn", "es", "pl", "en", "ar-EG")] == [
        "rtl", "rtl", "ltr", "ltr", "ltr", "ltr", "rtl",
    ]  # fmt: skip


def test_the_provenance_line_names_language_catalogue_and_review_state() -> None:
    line = provenance_line(
        PLAN,
        {
            "language": "bn",
            "catalogue_version": "abc123",
            "translation_review": "reviewed",
            "layout": "bilingual",
        },
    )
    assert "language bn, catalogue abc123, reviewed" in line and "bilingual layout" in line
    assert provenance_line(PLAN, None).startswith(f"Stride plan of {PLAN.plan_date:%Y-%m-%d}")
