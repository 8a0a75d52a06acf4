"""The walking diary's words and table on the Progress page (clinical-reference §12.3), from values."""

from __future__ import annotations

from dashboard import diary_views
from dashboard.diary_services import DiaryDay, PatientDiary
from dashboard.patient_reported import DiaryEntry, DiaryThresholds, traffic_light
from tests.factories import make_diary_entry

CLINIC = DiaryThresholds(green_max=3, amber_max=5)


def day(entry: DiaryEntry, thresholds: DiaryThresholds = CLINIC) -> DiaryDay:
    return DiaryDay(entry, traffic_light(entry, thresholds))


def diary(*entries: DiaryEntry, not_settling: bool = False, comfortable: float | None = None) -> PatientDiary:
    return PatientDiary(tuple(day(e) for e in entries), CLINIC, not_settling, comfortable)


def test_the_clinics_thresholds_make_three_bands_of_pain_during_the_walk() -> None:
    assert [(b.light, b.low, b.high, b.words) for b in diary_views.light_bands(CLINIC)] == [
        ("green", 0, 3, "Green: pain 0–3"),
        ("amber", 4, 5, "Amber: pain 4–5"),
        ("red", 6, 10, "Red: pain 6–10"),
    ]


def test_equal_thresholds_leave_no_amber_band_and_a_one_point_band_names_its_point() -> None:
    bands = diary_views.light_bands(DiaryThresholds(green_max=4, amber_max=4))
    assert [b.light for b in bands] == ["green", "red"]
    assert diary_views.light_bands(DiaryThresholds(green_max=3, amber_max=9))[-1].words == "Red: pain 10"


def test_the_light_is_said_in_words_with_its_reason() -> None:
    assert (
        diary_views.light_words(make_diary_entry(0, 2), "green", CLINIC) == "Green: pain 0–3 during the walk"
    )
    assert diary_views.light_words(make_diary_entry(0, 7), "red", CLINIC) == "Red: pain 6–10 during the walk"


def test_a_walk_red_by_the_24_hour_rule_says_so_rather_than_naming_its_low_pain() -> None:
    entry = make_diary_entry(0, 2, before=2, morning=5)
    assert diary_views.light_words(entry, "red", CLINIC) == "Red: worse next morning (24-hour rule)"


def test_the_table_lists_the_newest_walk_first_with_every_column_and_the_light_in_words() -> None:
    older = make_diary_entry(0, 2, walked=15, symptom_onset_min=10.5, morning=1)
    newer = make_diary_entry(1, 7, walked=20)
    rows = diary_views.diary_rows([day(older), day(newer)], CLINIC)
    assert list(rows[0]) == list(diary_views.COLUMNS)
    assert rows[0] == {
        "Date": "04 Feb 2025",
        "Traffic light": "Red: pain 6–10 during the walk",
        "Minutes walked": "20",
        "Symptoms after (min)": "none",
        "Pain before": "2 / 10",
        "Pain during": "7 / 10",
        "Pain next morning": "not yet",
    }
    assert (rows[1]["Symptoms after (min)"], rows[1]["Pain next morning"]) == ("10.5", "1 / 10")
    assert rows[1]["Traffic light"].startswith("Green")


def test_an_empty_diary_has_no_rows() -> None:
    assert diary_views.diary_rows([], CLINIC) == []


def test_the_hover_gives_the_light_in_words_the_minutes_and_the_three_pains() -> None:
    text = diary_views.hover_text(day(make_diary_entry(0, 4, symptom_onset_min=12, morning=2)), CLINIC)
    assert text.split("<br>") == [
        "Amber: pain 4–5 during the walk",
        "Walked 20 min; symptoms after 12 min",
        "Pain before 2 / 10, during 4 / 10, next morning 2 / 10",
    ]


def test_the_caption_says_who_typed_it_and_the_clinics_rule() -> None:
    caption = diary_views.caption(CLINIC)
    assert "Typed by the patient" in caption
    assert "green: pain 0–3; amber: pain 4–5; red: pain 6–10" in caption and "24-hour rule" in caption


def test_a_settling_diary_has_no_ease_back_line() -> None:
    assert diary_views.not_settling_line(diary(make_diary_entry(0, 2))) is None


def test_two_red_walks_say_the_patient_was_told_to_go_back_to_their_last_comfortable_week() -> None:
    line = diary_views.not_settling_line(diary(make_diary_entry(0, 7), not_settling=True, comfortable=15))
    assert line == (
        "Two red walks in a row: the patient was told to go back to their last comfortable week "
        "(their last green walk: 15 minutes)."
    )
    no_green = diary_views.not_settling_line(diary(make_diary_entry(0, 7), not_settling=True))
    assert no_green is not None and "no green walk yet" in no_green
