"""The patient's page's own decisions (dashboard.patient_link_views), without streamlit or a store."""

from __future__ import annotations

from dashboard import checkin_services as cs
from dashboard import page_keys
from dashboard import patient_link_views as views
from dashboard import patient_reported as pr

K = page_keys.Checkin
TOKEN = pr.new_token()


def test_a_check_in_sent_from_this_tab_is_recognised_with_its_emergency() -> None:
    session = {K.DONE: (pr.token_hash(TOKEN), "EMERGENCY")}
    assert views.sent_from_here(session, TOKEN) == (True, True)
    assert views.sent_from_here({K.DONE: (pr.token_hash(TOKEN), "NONE")}, TOKEN) == (True, False)
    assert views.sent_from_here(session, pr.new_token()) == (False, False)  # another link
    assert views.sent_from_here({}, TOKEN) == (False, False) and views.sent_from_here(session, None) == (
        False,
        False,
    )


def test_the_diary_starts_new_widget_keys_after_each_saved_walk_and_other_links_keep_theirs() -> None:
    assert views.widget_prefix("diary", 0) != views.widget_prefix("diary", 1)
    assert views.widget_prefix("checkin", 3) == views.widget_prefix("plan", 0) == K.PREFIX


def test_answers_are_what_the_widgets_hold_as_strings_and_empty_when_not_answered() -> None:
    session = {"p_pain_nrs": 6, "p_walk_total_min": "12", "p_other": "x"}
    assert views.typed_answers(session, "p_", ["pain_nrs", "walk_total_min", "walk_onset_min"]) == {
        "pain_nrs": "6",
        "walk_total_min": "12",
        "walk_onset_min": "",
    }


def test_the_check_in_fields_add_one_rating_per_psfs_activity() -> None:
    details = cs.LinkDetails(
        invite=None,  # type: ignore[arg-type]
        psfs_activities=("walk the dog", "gardening"),
        diary=(),
        thresholds=None,  # type: ignore[arg-type]
        ease_back=None,
    )
    fields = views.checkin_fields(details)
    assert fields[: len(cs.CHECKIN_FIELDS)] == cs.CHECKIN_FIELDS and fields[-2:] == ["psfs_0", "psfs_1"]


def test_an_emergency_answer_is_recorded_once_for_the_same_answers() -> None:
    raw = {"symptom_saddle": "yes"}
    marker = views.early_record_due({}, "i1", raw)
    assert marker is not None
    assert views.early_record_due({K.EARLY: marker}, "i1", raw) is None
    assert views.early_record_due({K.EARLY: marker}, "i1", {"symptom_saddle": "yes", "pain_nrs": "8"})
