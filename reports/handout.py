"""The patient handout: render a dashboard.plan.Plan as an A4 PDF with fpdf2 (bundled DejaVu Sans,
vector pictograms and chart, a bordered safety-net box on every plan).

The page is built in layers: reports.house_style (colours, the A4 document), reports.typefaces (faces,
scripts, the empty-box check), reports.handout_page (text and page furniture), reports.handout_advice
(masthead, advice sections, safety net) and reports.handout_programme (exercise cards, walking table
and chart); this module puts them together in the handout's order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fpdf.fonts import SubsetMap

from dashboard.plan import SECTION_HEADINGS, Plan, PlanItem
from reports.handout_advice import DOCUMENT_TITLE, AdvicePage
from reports.handout_page import TOP_MARGIN_MM, print_settings
from reports.handout_programme import ProgrammePage
from reports.house_style import PT_TO_MM
from reports.pictograms import PICTOGRAMS
from reports.typefaces import FONT_FILES, notdef_letters, release_shaping, undrawable_letters

# Names other modules and the tests read from here, wherever they now live.
__all__ = [
    "FONT_FILES",
    "PICTOGRAMS",
    "PT_TO_MM",
    "TOP_MARGIN_MM",
    "Rendered",
    "missing_letters",
    "print_settings",
    "render",
    "render_checked",
]
DOCUMENT_LANG = "en-GB"


class _Handout(AdvicePage, ProgrammePage):
    """The whole handout: its words and its programme on the handout's page."""


def missing_letters(plan: Plan, language: str = "en") -> set[str]:
    """Letters of the plan's names and note that no available font can draw (the page warns); for a
    translated plan, of every printed string, with the language's own face counted too."""
    texts = [plan.patient_display_name, plan.clinician_name, plan.clinic_name, plan.personal_note]
    if language != "en":
        texts += plan.patient_texts()
    return undrawable_letters(" ".join(texts), language)


@dataclass(frozen=True)
class Rendered:
    """A rendered handout and the letters it could only print as an empty box (.notdef)."""

    pdf: bytes
    notdef: frozenset[str]


def render(plan: Plan, **options: Any) -> bytes:
    """The plan as A4 PDF bytes; the same plan and creation date always give the same bytes
    (options as for `render_checked`)."""
    return render_checked(plan, **options).pdf


def render_checked(
    plan: Plan,
    *,
    large_print: bool = False,
    creation_date: dt.datetime | None = None,
    language: str = "en",
    english_safety_net: Sequence[PlanItem] = (),
    review_note: bool = False,
    bilingual_with: Plan | None = None,
) -> Rendered:
    """The plan as A4 PDF, with the letters no face could draw.

    A translated plan (reports.i18n.translate_plan) is printed in its `language`; `review_note`
    marks every page while no clinician has reviewed the translation, and `english_safety_net`
    (the plan's English safety-net items) is then printed in full after the translated one.
    """
    style = print_settings(large_print)
    pdf = _Handout(plan, style, language=language, review_note=review_note)
    if bilingual_with is not None and language != "en":
        # Paragraph by paragraph: each English item above its translation (clinical-reference §14).
        pdf.english_items = {
            entry.id: entry for key in bilingual_with.sections for entry in bilingual_with.sections[key]
        }
        pdf.english_exercises = {entry.id: entry for entry in bilingual_with.exercises}
    pdf.describe(
        title=f"{pdf.t(DOCUMENT_TITLE)} - {pdf.date(plan.plan_date)}",
        language=DOCUMENT_LANG if language == "en" else language,
        author=plan.clinician_name or plan.clinic_name or "Stride",
        subject="Walking programme, exercises and advice for back pain",
        created=creation_date,
    )
    pdf.add_page()
    pdf.masthead()
    if plan.safety_first:
        pdf.safety_net_box(plan.safety_net, lead=True)
    pdf.goals(plan.goals)

    pdf.section("core", plan.section("core"))
    walking = plan.section("walking")
    if walking or plan.walking_programme:
        first = pdf.item_height(walking[0], pdf.epw) if walking else pdf.table_keep_mm(plan.walking_programme)
        pdf.heading(pdf.t(SECTION_HEADINGS["walking"]), first)
        for entry in walking:
            pdf.item(entry, pdf.l_margin, pdf.epw)
        if plan.walking_programme:
            pdf.programme_table(plan.walking_programme)
            pdf.progress_chart(plan.walking_programme)
    if plan.exercises:
        text_w = pdf.card_text_box(plan.exercises[0])[1]
        pdf.heading(pdf.t(SECTION_HEADINGS["exercises"]), pdf.card_height(plan.exercises[0], text_w) + 3)
        for exercise in plan.exercises:
            pdf.exercise_card(exercise)
    for key in ("posture", "footwear", "flare_up"):
        pdf.section(key, plan.section(key))
    if plan.personal_note:
        note = PlanItem(
            id="personal_note", title=pdf.t(SECTION_HEADINGS["personal_note"]), text=plan.personal_note
        )
        pdf.heading(note.title, pdf.text_height(note.text, pdf.epw, style.body_pt))
        pdf.paragraph(note.text, style.body_pt)
    if not plan.safety_first:
        pdf.safety_net_box(plan.safety_net)
    if english_safety_net and language != "en":
        with pdf.in_english():
            pdf.safety_net_box(english_safety_net, title="When to get help (in English)")
    data = bytes(pdf.output())
    notdef = notdef_letters(
        pdf,
        [
            plan.patient_display_name,
            plan.clinician_name,
            plan.clinic_name,
            *plan.goals,
            *plan.patient_texts(),
        ],
    )
    release_shaping(pdf)
    # fpdf2 memoises SubsetMap.pick on the class, which keeps every document's fonts alive; the
    # entries are only a speed-up (pick is idempotent), so clearing them is safe.
    SubsetMap.pick.cache_clear()
    return Rendered(data, notdef)
