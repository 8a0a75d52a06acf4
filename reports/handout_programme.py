"""The handout's programme: the exercise cards (a library drawing, or a stick-figure pictogram beside
the steps; in the bilingual layout the English name under the translated one), and the week-by-week
walking table with its chart of minutes a week against the goal.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.plan import PlanExercise, ProgrammeWeek
from dashboard.walking import GOAL_DAYS_PER_WEEK, GOAL_MIN_PER_DAY
from reports.drawings import exercise_drawing
from reports.handout_page import HandoutPage
from reports.house_style import ACCENT, CARD_FILL, MUTED, RULE, SAFETY_BORDER, WHITE
from reports.pictograms import draw_pictogram


class ProgrammePage(HandoutPage):
    """The handout's exercise cards and walking programme."""

    def pictogram(self, key: str, x_mm: float, y_mm: float) -> None:
        """Draw an exercise's stick-figure pictogram in its framed box, at this print size."""
        draw_pictogram(self, key, x_mm, y_mm, self.style.pictogram_w_mm, self.style.pictogram_h_mm)

    def card_height(self, exercise: PlanExercise, text_w: float) -> float:
        """Height (mm) of one exercise card."""
        style = self.style
        height = self.text_height(exercise.name, text_w, style.item_title_pt, bold=True) + 1
        english = self.english_exercises.get(exercise.id)
        if english is not None and english.name != exercise.name:
            with self.in_english():
                height += self.text_height(english.name, text_w, style.body_pt, bold=True)
        if exercise.purpose:
            height += self.text_height(exercise.purpose, text_w, style.body_pt) + 1
        height += self.bullet_height(exercise.steps, text_w)
        if exercise.dose:
            height += (
                self.text_height(
                    self.t("How much: {dose}", dose=exercise.dose), text_w, style.body_pt, bold=True
                )
                + 1
            )
        drawing = exercise_drawing(exercise.id)
        if drawing is not None:
            return height + self.drawing_size(drawing)[1] + 3 + 8
        return max(height, style.pictogram_h_mm) + 8

    def card_text_box(self, exercise: PlanExercise) -> tuple[float, float]:
        """Left edge and width (mm) of a card's text: beside the pictogram, or full width under a drawing."""
        if exercise_drawing(exercise.id) is not None:
            return self.l_margin + 4, self.epw - 8
        text_x = self.l_margin + 4 + self.style.pictogram_w_mm + 5.0
        return text_x, self.w - self.r_margin - 4 - text_x

    def exercise_card(self, exercise: PlanExercise) -> None:
        """A framed card: pictogram on the left; name, purpose, numbered steps and dose beside it."""
        style = self.style
        drawing = exercise_drawing(exercise.id)
        text_x, text_w = self.card_text_box(exercise)
        height = self.card_height(exercise, text_w)
        self.keep_together(height + 3)
        top = self.get_y()
        self.set_fill_color(*CARD_FILL)
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.rect(self.l_margin, top, self.epw, height, style="DF", round_corners=True, corner_radius=2.5)
        if drawing is None:
            self.pictogram(exercise.pictogram, self.l_margin + 4, top + 4)
        self.set_y(top + 4)
        self.paragraph(
            exercise.name, style.item_title_pt, bold=True, color=ACCENT, x_mm=text_x, width_mm=text_w
        )
        english = self.english_exercises.get(exercise.id)
        if english is not None and english.name != exercise.name:
            with self.in_english():
                self.paragraph(
                    english.name, style.body_pt, bold=True, color=MUTED, x_mm=text_x, width_mm=text_w
                )
        self.ln(1)
        if drawing is not None:
            # Start and finish side by side, under the name, as wide as the text.
            self.set_fill_color(*WHITE)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            width, d_height = self.drawing_size(drawing)
            self.rect(text_x, self.get_y(), width, d_height, style="DF")
            self.set_y(self.get_y() + self.drawing(drawing, text_x, self.get_y()) + 3)
        if exercise.purpose:
            self.paragraph(exercise.purpose, style.body_pt, x_mm=text_x, width_mm=text_w)
            self.ln(1)
        self.bullets(exercise.steps, text_x, text_w, marker="number")
        if exercise.dose:
            self.ln(1)
            self.paragraph(
                self.t("How much: {dose}", dose=exercise.dose),
                style.body_pt,
                bold=True,
                x_mm=text_x,
                width_mm=text_w,
            )
        self.set_y(top + height + 3)

    # The walking programme ------------------------------------------------------------------------

    def table_header(self, headings: Sequence[str], col_w: Sequence[float], row_h: float) -> None:
        """The walking table's heading row: white bold text on the accent colour, wrapped if needed."""
        size = self.style.body_pt
        wrapped = [
            self.wrap(text, width, size, bold=True) for text, width in zip(headings, col_w, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * row_h + 1
        top = self.get_y()
        self.set_fill_color(*ACCENT)
        self.rect(self.l_margin, top, sum(col_w), height, style="F")
        self.use(size, bold=True, color=WHITE)
        x = self.l_margin
        for lines, width in zip(wrapped, col_w, strict=True):
            y = top + (height - len(lines) * row_h) / 2
            for line in lines:
                self.set_xy(x, y)
                self.cell(width, row_h, line, align="C")
                y += row_h
            x += width
        self.set_xy(self.l_margin, top + height)

    def table_keep_mm(self, weeks: Sequence[ProgrammeWeek]) -> float:
        """Height the table's start needs on a page: its heading row and the first 4 weeks (all of a
        shorter table). A longer table continues on the next page under a repeated heading row, so
        a page is never left a third blank for it."""
        row_h = self.style.line_mm(self.style.body_pt) * 1.15
        # The heading row may wrap onto two lines in large print.
        return row_h * (min(len(weeks), 4) + 2) + 1

    def programme_table(self, weeks: Sequence[ProgrammeWeek]) -> None:
        """The week-by-week walking table; its heading row repeats if it runs onto a new page."""
        style = self.style
        row_h = style.line_mm(style.body_pt) * 1.15
        col_w = [self.epw * share for share in (0.14, 0.2, 0.2, 0.2, 0.26)]
        headings = tuple(
            self.t(text) for text in ("Week", "Each walk", "Walks a day", "Days a week", "Minutes a week")
        )
        self.keep_together(self.table_keep_mm(weeks))
        self.table_header(headings, col_w, row_h)
        for number, week in enumerate(weeks):
            if self.room_mm() < row_h:
                self.add_page()
                self.table_header(headings, col_w, row_h)
            top = self.get_y()
            if number % 2 == 0:
                self.set_fill_color(*CARD_FILL)
                self.rect(self.l_margin, top, self.epw, row_h, style="F")
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(self.l_margin, top + row_h, self.l_margin + self.epw, top + row_h)
            self.use(style.body_pt)
            values = (
                str(week.week),
                self.t("{minutes} min", minutes=f"{week.bout_min:g}"),
                str(week.bouts_per_day),
                str(week.days_per_week),
                f"{week.weekly_total_min:g}",
            )
            self.set_x(self.l_margin)
            for value, width in zip(values, col_w, strict=True):
                self.cell(width, row_h, value, align="C")
            self.set_xy(self.l_margin, top + row_h)
        self.ln(4)

    def progress_chart(self, weeks: Sequence[ProgrammeWeek]) -> None:
        """A small line chart of the minutes of walking each week, with the weekly goal dashed."""
        style = self.style
        caption_h = style.line_mm(style.item_title_pt)
        small = style.small_pt + 1
        chart_h = style.chart_h_mm
        self.keep_together(caption_h + chart_h + 12)
        self.paragraph(self.t("Minutes of walking each week"), style.item_title_pt, bold=True)
        self.ln(2)
        goal = GOAL_MIN_PER_DAY * GOAL_DAYS_PER_WEEK
        totals = [week.weekly_total_min for week in weeks]
        top_value = max(goal, *totals)
        step = 50.0 if top_value <= 300 else 100.0
        y_max = step * -(-top_value // step)
        left = self.l_margin + 12
        right = self.w - self.r_margin - 2
        top = self.get_y() + 2
        bottom = top + chart_h

        def to_xy(index: int, value: float) -> tuple[float, float]:
            x = left + (index + 0.5) * (right - left) / len(totals)
            return x, bottom - value / y_max * (bottom - top)

        self.use(small, color=MUTED)
        self.set_line_width(0.2)
        tick = 0.0
        while tick <= y_max:
            y = to_xy(0, tick)[1]
            self.set_draw_color(*RULE)
            self.line(left, y, right, y)
            self.set_xy(self.l_margin, y - 2)
            self.cell(10, 4, f"{tick:g}", align="R")
            tick += step
        goal_y = to_xy(0, goal)[1]
        self.set_draw_color(*SAFETY_BORDER)
        self.set_line_width(0.5)
        self.set_dash_pattern(dash=1.5, gap=1.2)
        self.line(left, goal_y, right, goal_y)
        self.set_dash_pattern()
        self.use(small, bold=True, color=SAFETY_BORDER)
        label = self.t("Goal: {minutes} minutes a week", minutes=f"{goal:g}")
        self.set_xy(right - self.get_string_width(label) - 1, goal_y - style.line_mm(small) - 0.5)
        self.cell(self.get_string_width(label) + 1, style.line_mm(small), label)
        points = [to_xy(index, value) for index, value in enumerate(totals)]
        self.set_draw_color(*ACCENT)
        self.set_fill_color(*ACCENT)
        self.set_line_width(0.8)
        if len(points) > 1:
            self.polyline(points)
        for x, y in points:
            self.circle(x, y, 0.9, style="F")
        self.use(small, color=MUTED)
        for week, (x, _) in zip(weeks, points, strict=True):
            self.set_xy(x - 5, bottom + 1)
            self.cell(10, 4, str(week.week), align="C")
        # Below the tick labels, which are taller in large print.
        label_y = bottom + 1 + max(4.0, style.line_mm(small))
        self.set_xy(left, label_y)
        self.cell(right - left, 4, self.t("Week"), align="C")
        self.set_y(label_y + 6)
