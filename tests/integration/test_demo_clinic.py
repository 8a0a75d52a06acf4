"""The demo clinic that `make run` writes has discharged episodes worth reading (issue 22).

One clinic of the default size and seed (as `make run` writes it, but dated from the fixed
DEMO_TODAY) is generated into a SQLite file for the whole module and read back through the store;
outcomes are judged by dashboard.episodes.episode_outcome, as the clinic outcomes are
(clinical-reference §11.2, §11.3).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dashboard.episodes import DISCHARGE_REASONS, episode_outcome
from dashboard.models import Episode, Escalation, Patient, Visit
from data import demo
from data.store import open_store

Z_95 = 1.959964  # the funnel plot's 95% limits (§11.3)


@dataclass
class Record:
    """One patient of the demo clinic as the store gives them back."""

    patient: Patient
    episodes: list[Episode]
    visits: list[Visit]
    escalations: list[Escalation]

    def visits_of(self, episode: Episode) -> list[Visit]:
        return [v for v in self.visits if v.episode_id == episode.id]


@dataclass
class Clinic:
    records: list[Record]
    usernames: dict[str, str]  # user id -> username
    pain: dict[str, Counter[str]] = field(default_factory=dict)  # username -> discharged/complete/improved

    def discharged(self) -> list[tuple[Record, Episode]]:
        return [(r, e) for r in self.records for e in r.episodes if not e.is_open]

    def proportion_improved(self, username: str | None = None) -> float:
        counts = self.pain[username] if username else sum(self.pain.values(), Counter())
        return counts["improved"] / counts["complete"]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    path: Path = tmp_path_factory.mktemp("demo") / "stride.sqlite3"
    store = open_store(f"sqlite:///{path}")
    try:
        demo.generate(store)
        with store.read() as tx:
            usernames = {u.id: u.username for u in tx.users()}
            records = [
                Record(p, tx.episodes(p.id or ""), tx.visits(p.id or ""), tx.escalations(patient_id=p.id))
                for p in tx.search_patients("", limit=10_000)
            ]
    finally:
        store.close()
    found = Clinic(records, usernames)
    for record, episode in found.discharged():
        outcome = episode_outcome(record.patient, episode, record.visits_of(episode)).measures["pain_nrs"]
        counts = found.pain.setdefault(usernames[episode.clinician_id or ""], Counter())
        counts.update(discharged=1, complete=outcome.complete, improved=outcome.improved)
    yield found


def lower_95_limit(pooled: float, n: int) -> float:
    """The lower 95% funnel limit around the clinic's pooled proportion for n complete episodes."""
    return max(0.0, pooled - Z_95 * math.sqrt(pooled * (1 - pooled) / n))


def test_about_two_patients_in_five_have_been_discharged_and_the_rest_are_in_treatment(
    clinic: Clinic,
) -> None:
    ever_discharged = [r for r in clinic.records if any(not e.is_open for e in r.episodes)]
    in_treatment = [r for r in clinic.records if any(e.is_open for e in r.episodes)]
    assert 0.35 <= len(ever_discharged) / len(clinic.records) <= 0.55
    assert len(in_treatment) > len(clinic.records) / 2
    re_referred = [r for r in ever_discharged if r.episodes[-1].is_open]
    assert re_referred, "some discharged patients have come back with a new episode"


def test_several_clinicians_have_discharged_episodes(clinic: Clinic) -> None:
    assert len(clinic.pain) >= 4
    assert {"demo.clinician", "demo.avery", "demo.blake", "demo.casey"} <= set(clinic.pain)


def test_most_discharged_episodes_improve_in_pain_and_some_have_no_outcome(clinic: Clinic) -> None:
    pooled = clinic.proportion_improved()
    assert 0.55 <= pooled <= 0.75
    everyone = sum(clinic.pain.values(), Counter())
    assert 0 < everyone["discharged"] - everyone["complete"] <= everyone["discharged"] * 0.2


def test_blakes_patients_improve_in_pain_clearly_less_often_than_the_clinics(clinic: Clinic) -> None:
    blake, pooled = clinic.proportion_improved("demo.blake"), clinic.proportion_improved()
    complete = clinic.pain["demo.blake"]["complete"]
    assert complete >= 15
    assert blake < lower_95_limit(pooled, complete) < pooled  # below the funnel's 95% limit
    assert blake <= 0.3 and pooled - blake >= 0.3


def test_every_other_clinician_is_within_the_funnels_95_limits(clinic: Clinic) -> None:
    pooled = clinic.proportion_improved()
    below = [
        username
        for username, counts in clinic.pain.items()
        if clinic.proportion_improved(username) < lower_95_limit(pooled, counts["complete"])
    ]
    assert below == ["demo.blake"]


def test_casey_has_too_few_discharged_episodes_to_judge(clinic: Clinic) -> None:
    assert 1 <= clinic.pain["demo.casey"]["discharged"] <= 3


def test_every_discharged_episode_ends_on_or_after_its_last_visit_and_never_after_today(
    clinic: Clinic,
) -> None:
    year_before = demo.DEMO_TODAY.replace(year=demo.DEMO_TODAY.year - 1)
    for record, episode in clinic.discharged():
        visits = record.visits_of(episode)
        assert visits and episode.discharge_date is not None
        assert max(v.visit_date for v in visits) <= episode.discharge_date <= demo.DEMO_TODAY
        assert episode.discharge_date > year_before


def test_discharges_are_spread_over_the_last_twelve_months(clinic: Clinic) -> None:
    months = {
        (e.discharge_date.year, e.discharge_date.month) for _, e in clinic.discharged() if e.discharge_date
    }
    assert len(months) >= 10


def test_discharge_reasons_vary_and_other_always_says_why(clinic: Clinic) -> None:
    reasons = Counter(e.discharge_reason for _, e in clinic.discharged())
    assert set(reasons) == set(DISCHARGE_REASONS)
    assert reasons.most_common(1)[0][0] == "goals_met"
    assert all(e.discharge_note.strip() for _, e in clinic.discharged() if e.discharge_reason == "other")


def test_each_patient_has_at_most_one_open_episode_and_it_is_the_latest(clinic: Clinic) -> None:
    for record in clinic.records:
        open_ones = [e for e in record.episodes if e.is_open]
        assert len(open_ones) <= 1
        assert all(not e.is_open for e in record.episodes[:-1])


def test_every_visit_belongs_to_an_episode_that_began_after_its_onset(clinic: Clinic) -> None:
    for record in clinic.records:
        assert {v.episode_id for v in record.visits} == {e.id for e in record.episodes}
        for episode in record.episodes:
            first = min(v.visit_date for v in record.visits_of(episode))
            assert episode.symptom_onset <= first
            assert episode.clinician_id == record.patient.clinician_id
        # The patient carries the current episode's onset (the open one, else the latest).
        assert record.patient.symptom_onset == record.episodes[-1].symptom_onset


def test_a_re_referral_begins_after_the_previous_discharge(clinic: Clinic) -> None:
    for record in clinic.records:
        for earlier, later in zip(record.episodes, record.episodes[1:], strict=False):
            assert earlier.discharge_date is not None
            assert earlier.discharge_date < later.symptom_onset
            assert max(v.visit_date for v in record.visits_of(earlier)) < min(
                v.visit_date for v in record.visits_of(later)
            )


def test_escalations_of_discharged_patients_were_closed_and_the_open_ones_have_every_tier(
    clinic: Clinic,
) -> None:
    discharged = [r for r in clinic.records if not r.episodes[-1].is_open]
    closed = [x for r in discharged for x in r.escalations]
    assert closed and all(x.status == "closed" and x.closed_at and x.close_action for x in closed)
    assert all(x.opened_at and x.closed_at and x.opened_at <= x.closed_at for x in closed)
    in_treatment = [x for r in clinic.records if r.episodes[-1].is_open for x in r.escalations]
    assert {x.tier for x in in_treatment if x.status == "open"} == {"EMERGENCY", "URGENT", "ROUTINE_REVIEW"}
