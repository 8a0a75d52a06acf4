"""Invite tokens, the check-in's answers and the walking diary's traffic light (clinical-reference §12)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import pytest

from dashboard import licensed_wording as lw
from dashboard import patient_reported as pr
from dashboard.config import RuleSettings
from dashboard.models import Visit
from dashboard.patient_reported import DiaryEntry, DiaryThresholds, Invite, Problems
from tests import factories

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 1)


def make_invite(**overrides: object) -> Invite:
    return factories.make_invite(created_at=NOW, **overrides)


diary = functools.partial(factories.make_diary_entry, start=DAY)
# The clinic's default traffic-light thresholds: green ≤ 3, amber 4–5, red ≥ 6 (§12.3).
DEFAULTS = RuleSettings().diary_thresholds


# --- tokens ---------------------------------------------------------------------------------------
def test_a_token_carries_at_least_128_random_bits_and_is_well_formed() -> None:
    token = pr.new_token()
    assert len(token) == pr.TOKEN_LENGTH and pr.TOKEN_BYTES * 8 >= 128
    assert pr.well_formed_token(token)
    assert len({pr.new_token() for _ in range(200)}) == 200


# A fixed sample of a well-formed token: test ids must be the same in every worker.
SAMPLE = "k3Jx-Yq0_ZbN7wT2sUvRm8HcLpDe4Af6Gi9Oh1Qn5Ws"


def test_the_sample_token_is_well_formed() -> None:
    assert pr.well_formed_token(SAMPLE)


@pytest.mark.parametrize(
    "forged", [None, "", "short", SAMPLE[:-1], SAMPLE + "A", "!" * pr.TOKEN_LENGTH, "é" * 43]
)
def test_a_forged_or_truncated_token_is_refused_before_any_lookup(forged: str | None) -> None:
    assert not pr.well_formed_token(forged)


def test_only_the_sha256_of_a_token_is_kept_and_the_fingerprint_is_a_prefix_of_it() -> None:
    token = pr.new_token()
    assert pr.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in pr.token_hash(token)
    assert pr.fingerprint(pr.token_hash(token)) == pr.token_hash(token)[: pr.FINGERPRINT_LENGTH]


# --- invite states --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "now", "state"),
    [
        ({}, NOW, "open"),
        ({}, NOW + dt.timedelta(hours=72), "expired"),
        ({}, NOW + dt.timedelta(hours=71, minutes=59), "open"),
        ({"used_at": NOW}, NOW, "used"),
        ({"kind": "diary", "expires_at": NOW + dt.timedelta(weeks=6), "used_at": NOW}, NOW, "open"),
        ({"revoked_at": NOW}, NOW, "revoked"),
        ({"failed_identity_attempts": pr.IDENTITY_ATTEMPTS_MAX - 1}, NOW, "open"),
        ({"failed_identity_attempts": pr.IDENTITY_ATTEMPTS_MAX}, NOW, "locked"),
        ({"revoked_at": NOW, "used_at": NOW}, NOW + dt.timedelta(days=9), "revoked"),
    ],
)
def test_an_invite_opens_a_form_only_while_open(
    overrides: dict[str, object], now: dt.datetime, state: str
) -> None:
    assert pr.invite_state(make_invite(**overrides), now) == state


def test_a_checkin_lasts_72_hours_and_a_diary_six_weeks_by_default() -> None:
    assert pr.DEFAULT_LIFETIME["checkin"] == dt.timedelta(hours=72)
    assert pr.DEFAULT_LIFETIME["diary"] == dt.timedelta(days=42)


def test_the_identity_check_needs_the_exact_date_of_birth() -> None:
    born = dt.date(1961, 3, 9)
    assert pr.identity_matches(born, born)
    assert not pr.identity_matches(dt.date(1961, 9, 3), born)
    assert not pr.identity_matches(None, born) and not pr.identity_matches(born, None)


# --- check-in answers -----------------------------------------------------------------------------
def test_a_yes_to_saddle_numbness_maps_to_new_and_not_sure_maps_to_nothing_but_is_asked_now() -> None:
    answers = pr.parse_checkin(
        {"symptom_saddle": "yes", "symptom_bladder": "not_sure", "symptom_fever": "no"}, ()
    )
    assert not isinstance(answers, Problems)
    values = answers.visit_values()
    assert values["saddle_anaesthesia"] == "new" and values["fever"] is False
    assert "bladder_dysfunction" not in values
    assert [q.id for q in answers.ask_now()] == ["saddle", "bladder"]


def test_every_symptom_question_maps_onto_real_visit_fields() -> None:
    yes = pr.parse_checkin({f"symptom_{q.id}": "yes" for q in pr.SYMPTOM_QUESTIONS}, ())
    no = pr.parse_checkin({f"symptom_{q.id}": "no" for q in pr.SYMPTOM_QUESTIONS}, ())
    assert not isinstance(yes, Problems) and not isinstance(no, Problems)
    for answers in (yes, no):
        Visit(visit_date=DAY, **answers.visit_values())  # type: ignore[arg-type]  # validates every value
    assert yes.visit_values()["leg_weakness"] == "progressive"


def test_walking_answers_become_a_reported_walk() -> None:
    answers = pr.parse_checkin(
        {"walk_onset_min": "5", "walk_total_min": "12,5", "walk_stop_reason": "symptoms"}, ()
    )
    assert not isinstance(answers, Problems)
    assert answers.visit_values() == {
        "walk_protocol": "reported",
        "walk_onset_min": 5.0,
        "walk_total_min": 12.5,
        "walk_stop_reason": "symptoms",
    }
    Visit(visit_date=DAY, **answers.visit_values())  # type: ignore[arg-type]


def test_psfs_ratings_follow_the_clinicians_activities() -> None:
    answers = pr.parse_checkin({"psfs_0": "4", "psfs_1": ""}, ("Walking the dog", "Gardening"))
    assert not isinstance(answers, Problems)
    assert answers.psfs_ratings == (("Walking the dog", 4), ("Gardening", None))


@pytest.mark.parametrize(
    ("raw", "bad_field"),
    [
        ({"pain_nrs": "11"}, "pain_nrs"),
        ({"pain_nrs": "-1"}, "pain_nrs"),
        ({"pain_nrs": "seven"}, "pain_nrs"),
        ({"pain_worst_nrs": "4.5"}, "pain_worst_nrs"),
        ({"walk_total_min": "ten"}, "walk_total_min"),
        ({"walk_total_min": "301"}, "walk_total_min"),
        ({"walk_total_min": "nan"}, "walk_total_min"),
        ({"walk_onset_min": "20", "walk_total_min": "10"}, "walk_onset_min"),
        ({"walk_stop_reason": "time_cap"}, "walk_stop_reason"),
        ({"symptom_saddle": "maybe"}, "symptom_saddle"),
        ({"psfs_0": "12"}, "psfs_0"),
        ({"pain_nrs": "7" * 100_000}, "pain_nrs"),
    ],
)
def test_bad_checkin_answers_get_a_field_message_and_nothing_is_kept(
    raw: dict[str, object], bad_field: str
) -> None:
    result = pr.parse_checkin({"pain_nrs": "3", **raw}, ("Walking the dog",))
    assert isinstance(result, Problems)
    assert bad_field in result.by_field


# --- diary traffic light --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("during", "morning", "light"),
    [
        (0, None, "green"),
        (3, None, "green"),  # green ≤ 3
        (4, None, "amber"),  # amber 4–5
        (5, None, "amber"),
        (6, None, "red"),  # red ≥ 6
        (10, None, "red"),
        (2, 2, "green"),  # next morning back to the before-walk pain: settled
        (2, 3, "red"),  # the 24-hour rule: still worse the next morning than before the walk
        (5, 1, "amber"),
    ],
)
def test_the_traffic_light_follows_pain_during_the_walk_and_the_24_hour_rule(
    during: int, morning: int | None, light: str
) -> None:
    assert pr.traffic_light(diary(0, during, before=2, morning=morning), DEFAULTS) == light


def test_the_clinic_may_set_its_own_thresholds() -> None:
    wider = DiaryThresholds(green_max=3, amber_max=7)
    assert pr.traffic_light(diary(0, 7), wider) == "amber"
    assert pr.traffic_light(diary(0, 8), wider) == "red"


@pytest.mark.parametrize(("green_max", "amber_max"), [(6, 5), (-1, 5), (3, 11)])
def test_impossible_thresholds_are_refused(green_max: int, amber_max: int) -> None:
    with pytest.raises(ValueError, match="diary thresholds"):
        DiaryThresholds(green_max=green_max, amber_max=amber_max)


def test_two_red_entries_in_a_row_mean_not_settling_and_one_does_not() -> None:
    assert pr.not_settling([diary(0, 2), diary(1, 7), diary(2, 6)], DEFAULTS)
    assert not pr.not_settling([diary(0, 7), diary(1, 2), diary(2, 6)], DEFAULTS)
    assert not pr.not_settling([diary(0, 7)], DEFAULTS)
    assert not pr.not_settling([], DEFAULTS)
    # order by walk date, not by the order the entries were typed in
    assert pr.not_settling([diary(2, 6), diary(0, 2), diary(1, 7)], DEFAULTS)


def test_after_red_days_the_patient_goes_back_to_the_last_green_level() -> None:
    entries = [diary(0, 2, walked=15), diary(1, 3, walked=20), diary(2, 7, walked=30), diary(3, 6, walked=30)]
    assert pr.last_comfortable_minutes(entries, DEFAULTS) == 20
    assert pr.last_green(entries, DEFAULTS) == entries[1]
    assert pr.last_comfortable_minutes([diary(0, 8)], DEFAULTS) is None


@pytest.mark.parametrize(
    ("raw", "walk_date", "bad_field"),
    [
        ({"pain_before_nrs": "2", "pain_during_nrs": "3"}, DAY, "walked_min"),
        ({"walked_min": "20", "pain_during_nrs": "3"}, DAY, "pain_before_nrs"),
        (
            {"walked_min": "20", "pain_before_nrs": "2", "pain_during_nrs": "3"},
            DAY + dt.timedelta(days=9),
            "walk_date",
        ),
        (
            {"walked_min": "20", "symptom_onset_min": "25", "pain_before_nrs": "2", "pain_during_nrs": "3"},
            DAY,
            "symptom_onset_min",
        ),
        ({"walked_min": "400", "pain_before_nrs": "2", "pain_during_nrs": "3"}, DAY, "walked_min"),
    ],
)
def test_a_bad_diary_entry_gets_a_field_message(
    raw: dict[str, object], walk_date: dt.date, bad_field: str
) -> None:
    result = pr.parse_diary_entry(raw, walk_date, today=DAY + dt.timedelta(days=1))
    assert isinstance(result, Problems) and bad_field in result.by_field


def test_a_good_diary_entry_is_kept_with_no_next_morning_pain_yet() -> None:
    entry = pr.parse_diary_entry(
        {"walked_min": "20", "symptom_onset_min": "", "pain_before_nrs": "2", "pain_during_nrs": "4"},
        DAY,
        today=DAY,
    )
    assert entry == DiaryEntry(DAY, 20.0, None, 2, 4, None)


def test_a_stored_report_keeps_not_sure_and_splits_measurements_from_screening_answers() -> None:
    answers = pr.parse_checkin(
        {
            "pain_nrs": "6",
            "walk_total_min": "10",
            "psfs_0": "3",
            "symptom_bowel": "not_sure",
            "symptom_night": "yes",
        },
        ("Walking to the shop",),
    )
    assert not isinstance(answers, Problems)
    stored = answers.report_answers()
    assert stored["bowel_dysfunction"] == pr.NOT_SURE and stored["night_pain"] is True
    report = pr.PatientReport("r1", "i1", "p1", "e1", NOW, stored, urgency="NONE")
    assert report.measurements() == {
        "pain_nrs": 6,
        "walk_protocol": "reported",
        "walk_total_min": 10.0,
        "psfs": [{"activity": "Walking to the shop", "score": 3}],
    }
    assert report.screening_answers() == {"bowel_dysfunction": "not_sure", "night_pain": True}


def test_a_link_carries_the_token_and_nothing_else_about_the_patient() -> None:
    assert (
        pr.invite_link("https://clinic.example.org/", SAMPLE)
        == f"https://clinic.example.org/checkin?t={SAMPLE}"
    )


# --- stored records checked again (an imported archive) -------------------------------------------


@pytest.mark.parametrize("answer", ["yes", "no", "not_sure"])
def test_whatever_a_check_in_stores_passes_the_stored_answer_check(answer: str) -> None:
    form = {
        "pain_nrs": "0",
        "pain_worst_nrs": "10",
        "walk_onset_min": "4.5",
        "walk_total_min": "300",
        "walk_stop_reason": "fatigue",
        "psfs_0": "7",
        **{f"symptom_{q.id}": answer for q in pr.SYMPTOM_QUESTIONS},
    }
    parsed = pr.parse_checkin(form, ("Walking to the shop",))
    assert not isinstance(parsed, Problems)
    assert not pr.report_answer_problems(parsed.report_answers())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pain_nrs", 11),
        ("pain_nrs", True),
        ("pain_worst_nrs", 2.5),
        ("walk_total_min", 300.5),
        ("walk_total_min", float("nan")),
        ("walk_protocol", "6mwt"),
        ("walk_stop_reason", "time_cap"),
        ("saddle_anaesthesia", "yes"),
        ("fever", "new"),
        ("leg_weakness", "new"),
        ("psfs", [{"activity": " ", "score": 3}]),
        ("psfs", [{"activity": "Gardening", "score": 3, "note": "x"}]),
        ("notes", "free text"),
    ],
)
def test_a_stored_answer_no_check_in_gives_is_named_by_its_field(name: str, value: object) -> None:
    assert set(pr.report_answer_problems({name: value}).by_field) == {name}


def test_a_stored_walk_cannot_reach_symptoms_after_it_ended() -> None:
    problems = pr.report_answer_problems({"walk_onset_min": 15.0, "walk_total_min": 10.0})
    assert set(problems.by_field) == {"walk_onset_min"}


def test_a_stored_diary_entry_is_checked_by_the_rules_of_the_patients_form() -> None:
    assert not pr.stored_diary_problems(diary(0, 4, morning=3, symptom_onset_min=12.5), DAY)
    assert set(pr.stored_diary_problems(diary(0, 11), DAY).by_field) == {"pain_during_nrs"}
    assert set(pr.stored_diary_problems(diary(0, 4, morning=11), DAY).by_field) == {"pain_next_morning_nrs"}
    assert set(pr.stored_diary_problems(diary(0, 4, walked=301), DAY).by_field) == {"walked_min"}
    recorded_before_the_walk = DAY - dt.timedelta(days=1)
    assert set(pr.stored_diary_problems(diary(0, 4), recorded_before_the_walk).by_field) == {"walk_date"}


# --- licensed questionnaires on the check-in (§12.1), with placeholder wording only --------------
def placeholder(instrument: str) -> lw.Wording:
    wording = lw.check_wording(instrument, factories.placeholder_wording_file(instrument))
    assert isinstance(wording, lw.Wording)
    return wording


ODI, RMDQ, STARTBACK, ZCQ = (placeholder(i) for i in ("odi", "rmdq", "startback", "zcq"))


def test_odi_answers_are_kept_as_the_visits_ten_sections_and_pre_fill_the_form() -> None:
    raw = {"pain_nrs": "4", "odi_1": "3", "odi_4": "5", "odi_10": "0"}
    answers = pr.parse_checkin(raw, (), (ODI,))
    assert not isinstance(answers, Problems)
    stored = answers.report_answers()
    assert stored["odi_sections"] == [3, None, None, 5, None, None, None, None, None, 0]
    report = pr.PatientReport("r1", "i1", "p1", "e1", NOW, stored, urgency="NONE")
    assert report.measurements()["odi_sections"] == stored["odi_sections"]
    Visit.model_validate({"visit_date": dt.date(2025, 2, 3), **stored})  # the Visit's own shape


def test_each_licensed_instrument_is_stored_in_its_visit_fields_shape() -> None:
    raw = {f"rmdq_{i}": "yes" if i % 2 else "no" for i in range(1, 25)}
    raw |= {"startback_q1": "agree", "startback_q9": "very_much", "zcq_q7": "3", "zcq_q8": "4"}
    answers = pr.parse_checkin(raw, (), (RMDQ, STARTBACK, ZCQ))
    assert not isinstance(answers, Problems)
    stored = answers.report_answers()
    assert stored["rmdq_items"] == [i % 2 == 1 for i in range(1, 25)]
    assert stored["startback"] == {"q1": "agree", "q9": "very_much"}
    assert stored["zcq_items"] == {"q7": 3, "q8": 4}
    Visit.model_validate({"visit_date": dt.date(2025, 2, 3), **stored})


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"odi_2": "6"}, "odi_2", "Choose one of the answers shown"),  # outside 0–5
        ({"odi_2": "two"}, "odi_2", "Choose one of the answers shown"),
        ({"zcq_q7": "2"}, "zcq_q7", "Choose one of the answers shown"),  # the balance item is 1, 3 or 5
        ({"startback_q9": "agree"}, "startback_q9", "Choose one of the answers shown"),
        ({"rmdq_1": "true"}, "rmdq_1", "Choose one of the answers shown"),
        ({"rmdq_1": "yes"}, "rmdq_2", "leave all of these empty"),  # all 24 or none (§7.4)
        ({"odi_3": "x" * 100_000}, "odi_3", "too long"),  # a 100 KB answer
    ],
)
def test_an_answer_outside_an_items_allowed_answers_gets_a_field_message(
    raw: dict[str, str], field: str, words: str
) -> None:
    problems = pr.parse_checkin(raw, (), (ODI, RMDQ, STARTBACK, ZCQ))
    assert isinstance(problems, Problems) and words in problems.by_field[field]


def test_a_questionnaire_the_clinic_does_not_offer_is_ignored_and_an_unanswered_one_not_stored() -> None:
    answers = pr.parse_checkin({"pain_nrs": "2", "odi_1": "3"}, (), (STARTBACK,))
    assert not isinstance(answers, Problems)
    assert set(answers.report_answers()) == {"pain_nrs"}
