"""The web version of the handout: the same translated Plan as the PDF (reports.handout), as one
accessible HTML page a screen reader can read (the PDF cannot be tagged today).

A pure function of the plan and the handout's options: the `lang` and `dir` of its language, real
headings in order (h1 title, h2 sections, h3 items), lists, the safety net as a labelled `<aside>`,
each exercise's start-and-finish drawing inlined with its alt text, and print CSS. Everything is
inside the page: no script, no font, image or style sheet from elsewhere. Every string a clinician
or patient controls (names, edited sentences, goals, the note) is HTML-escaped.

`fragment=True` gives the same content without the document around it, for Streamlit's `st.html`;
its sanitizer (DOMPurify, HTML profile) removes inline SVG, so `inline_svg=False` draws each picture
as an `<img>` of the same SVG as a data: URI, which it keeps.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from dashboard.plan import SECTION_HEADINGS, Plan, PlanExercise, PlanItem, ProgrammeWeek
from reports.drawings import Drawing, cue_drawing, exercise_drawing
from reports.handout_advice import (
    DOCUMENT_TITLE,
    FIRST_PAGE_POINTER,
    GOALS_LEAD,
    LAST_PAGE_POINTER,
    _is_table,
    _table_rows,
)
from reports.handout_page import UNREVIEWED_NOTE, prepared_line
from reports.house_style import MONTHS
from reports.i18n import furniture

RTL_LANGUAGES = frozenset({"ar", "ur", "fa", "he", "ps", "sd", "ug", "yi"})
ENGLISH_SAFETY_NET = "When to get help (in English)"
TABLE_HEADINGS = ("Week", "Each walk", "Walks a day", "Days a week", "Minutes a week")
# Contrast (WCAG AA at least 4.5:1 on their backgrounds): ink 15:1, accent 8:1, safety 7:1 on white.
STYLE = """
.stride-plan{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Naskh Arabic",
"Noto Sans Bengali","DejaVu Sans",sans-serif;color:#1b1e21;background:#fff;font-size:1.125rem;
line-height:1.6;max-width:46rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
.stride-plan h1,.stride-plan h2,.stride-plan h3{color:#0f4460;line-height:1.3;margin:1.4em 0 .4em}
.stride-plan h1{font-size:1.75rem;margin-top:.4em}.stride-plan h2{font-size:1.4rem}
.stride-plan h3{font-size:1.15rem}.stride-plan p{margin:.4em 0}
.stride-plan ul,.stride-plan ol{padding-inline-start:1.5em;margin:.4em 0}
.stride-plan .muted{color:#4a5258}.stride-plan .pointer{color:#7a3800;font-weight:700}
.stride-plan .review-note{border:2px solid #7a3800;color:#7a3800;font-weight:700;padding:.5em .75em}
.stride-plan .english{color:#4a5258;border-inline-start:4px solid #c8d0d6;padding-inline-start:.75em;
margin:.6em 0}
.stride-plan figure{margin:.5em 0}.stride-plan figure svg,.stride-plan figure img{display:block;
width:100%;max-width:32rem;height:auto;background:#fff;border:1px solid #c8d0d6}
.stride-plan figure.cue svg,.stride-plan figure.cue img{max-width:12rem}
.stride-plan .exercise{border:1px solid #c8d0d6;border-radius:.5rem;background:#f4f8fa;padding:.25em 1em;
margin:1em 0}.stride-plan .exercise h3{margin-top:.5em}
.stride-plan table{border-collapse:collapse;width:100%;margin:.5em 0}
.stride-plan caption{font-weight:700;text-align:start;padding:.25em 0}
.stride-plan th,.stride-plan td{border:1px solid #c8d0d6;padding:.3em .5em;text-align:center}
.stride-plan thead th{background:#0f4460;color:#fff}
.stride-plan .features th{text-align:start;background:#f4f8fa;color:#1b1e21}
.stride-plan .features td{text-align:start}
.stride-plan .safety-net{border:3px solid #7a3800;background:#fff8eb;padding:.5em 1em;margin:1.5em 0;
border-radius:.5rem}.stride-plan .safety-net h2{color:#7a3800;margin-top:.4em}
.stride-plan .safety-net h3{color:#1b1e21}.stride-plan footer{border-top:1px solid #c8d0d6;
margin-top:2em;padding-top:.5em;font-size:.95rem}
@media (max-width:30rem){.stride-plan{font-size:1.0625rem;padding:.5rem}.stride-plan h1{font-size:1.5rem}}
@media print{.stride-plan{max-width:none;font-size:11pt;padding:0}.stride-plan .safety-net,
.stride-plan .exercise,.stride-plan figure,.stride-plan tr{break-inside:avoid}
.stride-plan h2,.stride-plan h3{break-after:avoid}.stride-plan .safety-net{break-before:auto}}
"""
# Only what the page itself holds: its own styles and its own data: pictures (no script at all).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_SVG_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')
_SVG_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)


def direction(language: str) -> str:
    """'rtl' for a right-to-left language (Arabic, Urdu, ...), else 'ltr'."""
    return "rtl" if language.split("-", 1)[0].lower() in RTL_LANGUAGES else "ltr"


class _Page:
    """The HTML of one plan in its language, built in the handout's order."""

    def __init__(
        self, plan: Plan, language: str, english: Plan | None, inline_svg: bool, review_note: bool
    ) -> None:
        self.plan, self.language, self.inline_svg = plan, language, inline_svg
        self.words = furniture(None if language == "en" else language)
        self.review_note = review_note
        self.english_items: dict[str, PlanItem] = {}
        self.english_exercises: dict[str, PlanExercise] = {}
        if english is not None and language != "en":
            self.english_items = {item.id: item for items in english.sections.values() for item in items}
            self.english_exercises = {exercise.id: exercise for exercise in english.exercises}
        self.out: list[str] = []

    def t(self, english: str, **values: str) -> str:
        """Page furniture in the handout's language, with its values filled in (not escaped)."""
        text = self.words.get(english, english)
        return text.format(**values) if values else text

    def date(self, day: dt.date) -> str:
        """A date in the handout's language (day, month name, year)."""
        return f"{day.day} {self.t(MONTHS[day.month - 1])} {day.year}"

    def isolated(self, english: str, name: str, value: str) -> str:
        """Escaped furniture with a name in it as <bdi>: a name in another script keeps its own
        direction inside the sentence."""
        before, _, after = self.t(english).partition("{" + name + "}")
        return f"{escape(before)}<bdi>{escape(value)}</bdi>{escape(after)}"

    def add(self, *parts: str) -> None:
        """Append markup."""
        self.out.extend(parts)

    # Pictures -------------------------------------------------------------------------------------

    def picture(self, drawing: Drawing, css_class: str) -> None:
        """A library drawing with its alt text: inline SVG, or an <img> of the same SVG (data: URI)."""
        # The alt text is in English (the manifest's); lang says so to a screen reader.
        alt = escape(drawing.alt)
        svg = drawing.svg_text()
        if self.inline_svg:
            svg = _SVG_TITLE.sub(f"<title>{alt}</title>", svg, count=1)
            head, rest = svg.split(">", 1)
            head = _SVG_SIZE.sub("", head) + f' aria-label="{alt}" lang="en" focusable="false"'
            self.add(f'<figure class="{css_class}">{head}>{rest}</figure>')
            return
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        self.add(
            f'<figure class="{css_class}"><img src="data:image/svg+xml;base64,{data}" alt="{alt}" '
            'lang="en"></figure>'
        )

    # Text -----------------------------------------------------------------------------------------

    def list_of(self, lines: Iterable[str], tag: str = "ul", *, own_direction: bool = False) -> None:
        """A list of escaped lines (nothing for none); `own_direction` for the patient's own words,
        which may be in another script than the handout (an English goal in an Arabic plan)."""
        li = '<li dir="auto">' if own_direction else "<li>"
        items = "".join(f"{li}{escape(line)}</li>" for line in lines if line)
        if items:
            self.add(f"<{tag}>{items}</{tag}>")

    def item_body(self, item: PlanItem) -> None:
        """An advice item's title (h3), text and bullets, or its feature table."""
        self.add(f"<h3>{escape(item.title)}</h3>")
        if item.text:
            self.add(f"<p>{escape(item.text)}</p>")
        if _is_table(item):
            rows = _table_rows(item)
            body = "".join(f'<tr><th scope="row">{escape(a)}</th><td>{escape(b)}</td></tr>' for a, b in rows)
            self.add(f'<table class="features"><tbody>{body}</tbody></table>')
        else:
            self.list_of(item.bullets)

    def item(self, item: PlanItem) -> None:
        """One advice item; in the bilingual layout the English item first, marked as English."""
        twin = self.english_items.get(item.id)
        self.add('<div class="item">')
        if twin is not None and twin != item:
            self.add('<div class="english" lang="en" dir="ltr">')
            self.item_body(twin)
            self.add("</div>")
        self.item_body(item)
        if (drawing := cue_drawing(item.id)) is not None:
            self.picture(drawing, "cue")
        self.add("</div>")

    def open_section(self, key: str, heading: str = "", tag: str = "section", attrs: str = "") -> None:
        """Open a landmark or section named by its h2 heading (the section's own, translated)."""
        heading = heading or self.t(SECTION_HEADINGS[key])
        self.add(f'<{tag} aria-labelledby="h-{key}"{attrs}><h2 id="h-{key}">{escape(heading)}</h2>')

    def section(self, key: str, items: Sequence[PlanItem], *, extra: str = "") -> None:
        """A section: its h2 heading and items (nothing for an empty section)."""
        if not items and not extra:
            return
        self.open_section(key)
        for entry in items:
            self.item(entry)
        self.add(extra, "</section>")

    # The handout's parts --------------------------------------------------------------------------

    def masthead(self) -> None:
        """Clinic, title, patient, date, clinician, contact and the pointer to the safety net."""
        plan = self.plan
        self.add("<header>")
        if self.review_note:
            note = escape(self.t(UNREVIEWED_NOTE))
            if self.t(UNREVIEWED_NOTE) != UNREVIEWED_NOTE:
                note += f'<br><span lang="en" dir="ltr">{escape(UNREVIEWED_NOTE)}</span>'
            self.add(f'<p class="review-note" role="note">{note}</p>')
        if plan.clinic_name:
            self.add(f'<p class="clinic" dir="auto"><strong>{escape(plan.clinic_name)}</strong></p>')
        if plan.clinic_address:
            self.add(f'<p class="muted" dir="auto">{escape(plan.clinic_address)}</p>')
        self.add(f"<h1>{escape(self.t(DOCUMENT_TITLE))}</h1>")
        name = self.isolated("For {name}", "name", plan.patient_display_name)
        self.add(f'<p class="patient"><strong>{name}</strong></p>')
        details = escape(self.t("Date: {date}", date=self.date(plan.plan_date)))
        if plan.clinician_name:
            details += " · " + self.isolated("From: {clinician}", "clinician", plan.clinician_name)
        self.add(f'<p class="muted">{details}</p>')
        contact = []
        if plan.next_appointment:
            contact.append(self.t("Your next appointment: {date}", date=self.date(plan.next_appointment)))
        if plan.clinic_phone:
            contact.append(
                self.t("Questions? Call us on {phone}", phone="\u2068" + plan.clinic_phone + "\u2069")
            )
        if contact:
            self.add(f"<p><strong>{escape(' · '.join(contact))}</strong></p>")
        pointer = FIRST_PAGE_POINTER if plan.safety_first else LAST_PAGE_POINTER
        self.add(f'<p class="pointer">{escape(self.t(pointer))}</p></header>')

    def goals(self) -> None:
        """The patient's own goals, under their heading."""
        if not self.plan.goals:
            return
        self.open_section("goals")
        self.add(f"<p>{escape(self.t(GOALS_LEAD))}</p>")
        self.list_of(self.plan.goals, own_direction=True)
        self.add("</section>")

    def programme(self, weeks: Sequence[ProgrammeWeek]) -> str:
        """The week-by-week walking table (the PDF's chart shows the same minutes)."""
        if not weeks:
            return ""
        head = "".join(f'<th scope="col">{escape(self.t(text))}</th>' for text in TABLE_HEADINGS)
        rows = "".join(
            f'<tr><th scope="row">{week.week}</th>'
            f"<td>{escape(self.t('{minutes} min', minutes=f'{week.bout_min:g}'))}</td>"
            f"<td>{week.bouts_per_day}</td><td>{week.days_per_week}</td><td>{week.weekly_total_min:g}</td></tr>"
            for week in weeks
        )
        caption = escape(self.t("Minutes of walking each week"))
        return (
            f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )

    def exercise(self, exercise: PlanExercise) -> None:
        """An exercise card: name (h3; the English name too when bilingual), drawing, purpose, steps, dose."""
        self.add(f'<section class="exercise" aria-labelledby="ex-{escape(exercise.id)}">')
        self.add(f'<h3 id="ex-{escape(exercise.id)}">{escape(exercise.name)}</h3>')
        twin = self.english_exercises.get(exercise.id)
        if twin is not None and twin.name != exercise.name:
            self.add(f'<p class="muted" lang="en" dir="ltr"><strong>{escape(twin.name)}</strong></p>')
        if (drawing := exercise_drawing(exercise.id)) is not None:
            self.picture(drawing, "drawing")
        if exercise.purpose:
            self.add(f"<p>{escape(exercise.purpose)}</p>")
        self.list_of(exercise.steps, "ol")
        if exercise.dose:
            self.add(f"<p><strong>{escape(self.t('How much: {dose}', dose=exercise.dose))}</strong></p>")
        self.add("</section>")

    def safety_net(self, items: Sequence[PlanItem], *, heading: str, key: str, english: bool = False) -> None:
        """The safety-net box: a complementary landmark named by its heading."""
        marks = ' lang="en" dir="ltr"' if english else ""
        self.open_section(key, heading, "aside", ' class="safety-net"' + marks)
        for entry in items:
            if english:
                self.item_body(entry)
            else:
                self.item(entry)
        self.add("</aside>")

    def footer(self, provenance: Mapping[str, Any] | None) -> None:
        """Who prepared the plan, as decision support, and where it came from."""
        prepared, source = prepared_line(self.plan, self.t), provenance_line(self.plan, provenance)
        self.add(f'<footer><p class="muted">{escape(prepared)}</p>')
        self.add(f'<p class="muted provenance" lang="en" dir="ltr">{escape(source)}</p></footer>')


def provenance_line(plan: Plan, provenance: Mapping[str, Any] | None) -> str:
    """'Stride plan of 4 December 2026 · advice library v · language ar, catalogue c, awaiting clinical
    review': what the page was built from (the stored handout's provenance, §14)."""
    parts = [f"Stride plan of {plan.plan_date:%Y-%m-%d}"]
    if plan.library_version:
        parts.append(f"advice library {plan.library_version}")
    if provenance:
        language = f"language {provenance.get('language', 'en')}"
        if provenance.get("catalogue_version"):
            language += f", catalogue {provenance['catalogue_version']}"
        if provenance.get("translation_review"):
            language += f", {provenance['translation_review']}"
        parts.append(language)
        if provenance.get("layout") == "bilingual":
            parts.append("bilingual layout")
    return " · ".join(parts)


def render_html(
    plan: Plan,
    *,
    language: str = "en",
    english_safety_net: Sequence[PlanItem] = (),
    review_note: bool = False,
    bilingual_with: Plan | None = None,
    large_print: bool = False,
    provenance: Mapping[str, Any] | None = None,
    inline_svg: bool = True,
    fragment: bool = False,
) -> str:
    """The plan as one accessible HTML page (options as for reports.handout.render_checked, plus the
    stored provenance); `fragment` leaves out the document around it (for st.html)."""
    page = _Page(plan, language, bilingual_with, inline_svg, review_note)
    page.masthead()
    net_heading = page.t(SECTION_HEADINGS["safety_net"])
    if plan.safety_first:
        page.safety_net(plan.safety_net, heading=net_heading, key="safety_net")
    page.goals()
    page.section("core", plan.section("core"))
    page.section("walking", plan.section("walking"), extra=page.programme(plan.walking_programme))
    if plan.exercises:
        page.open_section("exercises")
        for exercise in plan.exercises:
            page.exercise(exercise)
        page.add("</section>")
    for key in ("posture", "footwear", "flare_up"):
        page.section(key, plan.section(key))
    if plan.personal_note:
        page.open_section("personal_note")
        page.add(f'<p dir="auto">{escape(plan.personal_note)}</p></section>')
    if not plan.safety_first:
        page.safety_net(plan.safety_net, heading=net_heading, key="safety_net")
    if english_safety_net and language != "en":
        page.safety_net(english_safety_net, heading=ENGLISH_SAFETY_NET, key="safety_net_en", english=True)
    page.footer(provenance)
    lang, dirn = escape(language), direction(language)
    size = ' style="font-size:1.375rem"' if large_print else ""
    body = "".join(page.out)
    if fragment:
        article = f'<article class="stride-plan" lang="{lang}" dir="{dirn}"{size}>'
        return f"<style>{STYLE}</style>{article}{body}</article>"
    title = escape(f"{page.t(DOCUMENT_TITLE)} - {page.date(plan.plan_date)}")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{dirn}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{title}</title><style>body{{margin:0;background:#fff}}{STYLE}</style></head>"
        f'<body><main class="stride-plan"{size}>{body}</main></body></html>\n'
    )
