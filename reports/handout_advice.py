"""The handout's words: the masthead, the patient's goals, the advice sections (an item's title, text and
bullets or feature table, with a cue drawing; in the bilingual layout the English item above it) and
the bordered safety-net box, which may run over pages as whole boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.plan import SECTION_HEADINGS, PlanItem
from reports.drawings import cue_drawing
from reports.handout_page import HandoutPage
from reports.house_style import ACCENT, CARD_FILL, INK, MUTED, RULE, SAFETY_BORDER, SAFETY_FILL
from reports.typefaces import FONT_FAMILY, has_rtl

DOCUMENT_TITLE = "Your walking and back plan"
LAST_PAGE_POINTER = "The box at the end says when to get help. Please keep it somewhere easy to find."
# The closing safety-net box starts on a new page, unless less than this share of the page is used:
# then it starts below, so no page is left with a few lines on it (large print).
SHORT_PAGE_FRACTION = 0.3
# With an open URGENT or EMERGENCY escalation the safety net comes first (dashboard.plan decides).
FIRST_PAGE_POINTER = "Please read the box below first. It says when to get help."
GOALS_LEAD = "This plan is here to help you with the things you told us matter to you:"


# Advice items printed as a two-column table ("Feature: why it may feel better" bullets).
TABLE_ITEMS = frozenset({"footwear_features"})
TABLE_FIRST_SHARE = 0.32


def _table_rows(item: PlanItem) -> list[tuple[str, str]]:
    rows = []
    for bullet in item.bullets:
        # A full-width colon too (some scripts use it); an edited bullet without one stays a bullet.
        head, colon, rest = bullet.replace("：", ":").partition(":")
        if not colon:
            return []
        rows.append((head.strip(), rest.strip()))
    return rows


def _is_table(item: PlanItem) -> bool:
    return item.id in TABLE_ITEMS and bool(_table_rows(item))


class AdvicePage(HandoutPage):
    """The handout's masthead, goals, advice sections and safety-net box."""

    def masthead(self) -> None:
        """Clinic, title, patient, date and clinician at the top of page 1."""
        plan, style = self.plan, self.style
        if plan.clinic_name:
            self.paragraph(plan.clinic_name, style.body_pt, bold=True, color=ACCENT)
        if plan.clinic_address:
            self.paragraph(plan.clinic_address, style.small_pt + 1, color=MUTED)
        self.ln(3)
        self.paragraph(self.t(DOCUMENT_TITLE), style.title_pt, bold=True, color=ACCENT)
        self.ln(1)
        self.name_line(self.t("For {name}", name=plan.patient_display_name), style.item_title_pt)
        details = self.t("Date: {date}", date=self.date(plan.plan_date))
        if plan.clinician_name:
            details += " · " + self.t("From: {clinician}", clinician=plan.clinician_name)
        self.paragraph(details, style.body_pt, color=MUTED)
        contact = []
        if plan.next_appointment:
            contact.append(self.t("Your next appointment: {date}", date=self.date(plan.next_appointment)))
        if plan.clinic_phone:
            phone = plan.clinic_phone.replace(" ", "\u00a0")  # kept on one line (wrap breaks at spaces)
            contact.append(self.t("Questions? Call us on {phone}", phone=phone))
        if contact:
            self.paragraph(" · ".join(contact), style.body_pt, bold=True)
        self.ln(1)
        pointer = self.t(FIRST_PAGE_POINTER if plan.safety_first else LAST_PAGE_POINTER)
        self.paragraph(pointer, style.body_pt, bold=True, color=SAFETY_BORDER)
        self.ln(2)
        self.rule()

    def name_line(self, text: str, size_pt: float) -> None:
        """The patient's name line, bold; a right-to-left name is shaped and in bidirectional order."""
        if not has_rtl(text) or self.script is not None:
            self.paragraph(text, size_pt, bold=True)
            return
        self.use(size_pt, bold=True)
        self.set_font(self.rtl_family, "B", size_pt)
        # Letters the Naskh face lacks (Latin, for a mixed name) come from DejaVu.
        self.set_fallback_fonts([FONT_FAMILY, *self.fallback_names], exact_match=False)
        self.set_text_shaping(use_shaping_engine=True)
        self.multi_cell(self.epw, self.style.line_mm(size_pt), text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_shaping(use_shaping_engine=False)
        self.set_fallback_fonts(self.fallback_names, exact_match=False)

    def goals(self, goals: Sequence[str]) -> None:
        """The patient's own goals (their PSFS activities), under a heading."""
        if not goals:
            return
        lead = self.t(GOALS_LEAD)
        lead_h = self.text_height(lead, self.epw, self.style.body_pt)
        self.heading(self.t(SECTION_HEADINGS["goals"]), lead_h + self.bullet_height(goals, self.epw))
        self.paragraph(lead, self.style.body_pt)
        self.bullets(goals, self.l_margin, self.epw)
        self.ln(2.5)

    # Advice items ---------------------------------------------------------------------------------

    def twin(self, item: PlanItem) -> PlanItem | None:
        """In the bilingual layout, the English item printed above a translated one."""
        if not self.english_items:
            return None
        english = self.english_items.get(item.id)
        return english if english is not None and english != item else None

    def item_height(self, item: PlanItem, width_mm: float) -> float:
        """Height (mm) of one advice item; in the bilingual layout with its English twin above it."""
        twin = self.twin(item) if not self.printing_twin else None
        if twin is not None:
            self.printing_twin = True
            try:
                with self.in_english():
                    english_h = self._item_height(twin, width_mm)
            finally:
                self.printing_twin = False
            return english_h + self._item_height(item, width_mm, with_drawing=False)
        return self._item_height(item, width_mm)

    def _item_height(self, item: PlanItem, width_mm: float, *, with_drawing: bool = True) -> float:
        style = self.style
        drawing = cue_drawing(item.id) if with_drawing else None
        if drawing is not None:
            width_mm -= self.drawing_size(drawing)[0] + 4
        height = self.text_height(item.title, width_mm, style.item_title_pt, bold=True) + 2.5
        if item.text:
            height += self.text_height(item.text, width_mm, style.body_pt)
        if _is_table(item):
            height += sum(self.table_row_height(row, width_mm) for row in _table_rows(item))
        else:
            height += self.bullet_height(item.bullets, width_mm)
        if drawing is not None:
            height = max(height, self.drawing_size(drawing)[1] + 2.5)
        return height

    def item(self, item: PlanItem, x_mm: float, width_mm: float, *, keep: bool = True) -> None:
        """One advice item: bold title, paragraph, bullets; a cue drawing on the right. In the
        bilingual layout the English item comes first, in muted ink, then the translation."""
        if keep:
            self.keep_together(self.item_height(item, width_mm))
        twin = self.twin(item) if not self.printing_twin else None
        if twin is not None:
            self.printing_twin = True
            try:
                with self.in_english():
                    self._item(twin, x_mm, width_mm, color=MUTED)
            finally:
                self.printing_twin = False
        self._item(item, x_mm, width_mm, with_drawing=twin is None)

    def _item(
        self,
        item: PlanItem,
        x_mm: float,
        width_mm: float,
        color: tuple[int, int, int] = INK,
        *,
        with_drawing: bool = True,
    ) -> None:
        style = self.style
        top, page = self.get_y(), self.page
        bottom = top
        drawing = cue_drawing(item.id) if with_drawing else None
        if drawing is not None:
            d_width, _ = self.drawing_size(drawing)
            bottom = top + self.drawing(drawing, x_mm + width_mm - d_width, top)
            width_mm -= d_width + 4
        self.paragraph(item.title, style.item_title_pt, bold=True, color=color, x_mm=x_mm, width_mm=width_mm)
        if item.text:
            self.paragraph(item.text, style.body_pt, color=color, x_mm=x_mm, width_mm=width_mm)
        if _is_table(item):
            self.feature_table(_table_rows(item), x_mm, width_mm)
        else:
            self.bullets(item.bullets, x_mm, width_mm)
        if self.page == page and self.get_y() < bottom:
            self.set_y(bottom)
        self.ln(2.5)

    def table_row_height(self, row: tuple[str, str], width_mm: float) -> float:
        """Height (mm) of one row of a two-column feature table."""
        first, second = width_mm * TABLE_FIRST_SHARE, width_mm * (1 - TABLE_FIRST_SHARE)
        size = self.style.body_pt
        return (
            max(self.text_height(row[0], first, size, bold=True), self.text_height(row[1], second, size))
            + 1.5
        )

    def feature_table(self, rows: Sequence[tuple[str, str]], x_mm: float, width_mm: float) -> None:
        """A small two-column table: a feature in bold, and why it may feel better."""
        first = width_mm * TABLE_FIRST_SHARE
        for number, row in enumerate(rows):
            height = self.table_row_height(row, width_mm)
            top = self.get_y()
            if number % 2 == 0:
                self.set_fill_color(*CARD_FILL)
                self.rect(x_mm, top, width_mm, height, style="F")
            self.set_xy(x_mm, top + 0.75)
            self.paragraph(row[0], self.style.body_pt, bold=True, x_mm=x_mm, width_mm=first)
            self.set_y(top + 0.75)
            self.paragraph(row[1], self.style.body_pt, x_mm=x_mm + first, width_mm=width_mm - first)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(x_mm, top + height, x_mm + width_mm, top + height)
            self.set_y(top + height)

    def section(self, key: str, items: Sequence[PlanItem]) -> None:
        """A heading and its advice items."""
        if not items:
            return
        self.heading(self.t(SECTION_HEADINGS[key]), self.item_height(items[0], self.epw))
        for entry in items:
            self.item(entry, self.l_margin, self.epw)

    # The safety net -------------------------------------------------------------------------------

    def _split_item(
        self, item: PlanItem, width_mm: float, room_mm: float
    ) -> tuple[PlanItem | None, PlanItem | None]:
        """The item cut after as many bullets as fit in `room_mm` (at least 2), and the rest under
        the same title marked "(continued)"; (None, None) when it cannot be cut so."""
        for keep in range(len(item.bullets) - 2, 1, -1):
            head = item.model_copy(update={"bullets": item.bullets[:keep]})
            if self.item_height(head, width_mm) <= room_mm:
                rest = PlanItem(
                    id=item.id, title=f"{item.title} {self.t('(continued)')}", bullets=item.bullets[keep:]
                )
                return head, rest
        return None, None

    def safety_net_box(self, items: Sequence[PlanItem], *, lead: bool = False, title: str = "") -> None:
        """The bordered safety-net box on a page of its own, or straight below (`lead`: under the
        masthead; or when the page holds only a few lines); it may continue on another page, each
        page a whole box, a long list cut between bullets, the last two pages balanced."""
        style = self.style
        pad = 5.0
        inner_x = self.l_margin + pad
        inner_w = self.epw - 2 * pad
        heading_h = style.line_mm(style.heading_pt) + 2
        frame_h = heading_h + 2 * pad - 2.5  # the last item's trailing space sits inside the padding
        usable = self.page_break_trigger - self.t_margin
        if not lead and self.page > 1:
            lead = (self.get_y() - self.t_margin) / usable < SHORT_PAGE_FRACTION
            if lead:
                self.ln(4)
        first_room = self.room_mm() - 4 if lead else usable
        pages: list[list[tuple[PlanItem, float]]] = [[]]
        queue = list(items)
        while queue:
            entry = queue.pop(0)
            height = self.item_height(entry, inner_w)
            room = (first_room if len(pages) == 1 else usable) - frame_h - sum(h for _, h in pages[-1])
            if height > room:
                head, rest = self._split_item(entry, inner_w, room)
                if head is not None and rest is not None:
                    # A long list goes on in the next page's box under its own title, so the
                    # first page is not left a third blank.
                    pages[-1].append((head, self.item_height(head, inner_w)))
                    pages.append([])
                    queue.insert(0, rest)
                    continue
                if pages[-1] or not lead:
                    pages.append([])
                else:
                    lead = False  # not even one item fits under the masthead: start a new page
                    first_room = usable
            pages[-1].append((entry, height))
        if not lead and len(pages) >= 2:

            def total(page: list[tuple[PlanItem, float]]) -> float:
                return sum(h for _, h in page)

            before, last = pages[-2], pages[-1]
            while len(before) > 1 and total(last) + before[-1][1] <= total(before) - before[-1][1]:
                last.insert(0, before.pop())
        for number, page_items in enumerate(pages):
            if number or not lead:
                self.add_page()
            top = self.get_y()
            height = frame_h + sum(h for _, h in page_items)
            self.set_fill_color(*SAFETY_FILL)
            self.set_draw_color(*SAFETY_BORDER)
            self.set_line_width(0.9)
            self.rect(self.l_margin, top, self.epw, height, style="DF")
            self.set_y(top + pad)
            heading = (title or self.t(SECTION_HEADINGS["safety_net"])) + (
                " " + self.t("(continued)") if number else ""
            )
            self.paragraph(heading, style.heading_pt, bold=True, color=SAFETY_BORDER, x_mm=inner_x)
            self.ln(2)
            for entry, _ in page_items:
                self.item(entry, inner_x, inner_w, keep=False)
            self.set_y(top + height + 4)
