"""The clinician's read of a patient's walking diary (clinical-reference §12.3; issue 21).

The entries the patient typed through their diary link in the current episode of care, oldest walk
first, each with its traffic light on the clinic's thresholds, and whether the diary is "not settling"
(two red walks in a row). Rights are re-checked against the stored account, like every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from dashboard import patient_reported as pr
from dashboard.config import Settings
from dashboard.episodes import current_episode
from dashboard.patient_reported import DiaryEntry, DiaryThresholds, Light
from dashboard.ports import Store, User
from dashboard.service_base import _existing_patient, authorize


class DiaryDay(NamedTuple):
    """One diary entry and its traffic light (pain during the walk and the 24-hour rule)."""

    entry: DiaryEntry
    light: Light


@dataclass(frozen=True)
class PatientDiary:
    """A patient's walking diary of the current episode, as the patient reported it (never confirmed)."""

    days: tuple[DiaryDay, ...]  # oldest walk first
    thresholds: DiaryThresholds
    not_settling: bool  # two red walks in a row: the patient was told to ease back (§12.3)
    last_comfortable_min: float | None  # minutes walked on the latest green day (None: none yet)


def patient_diary(store: Store, actor: User, patient_id: str, *, settings: Settings) -> PatientDiary:
    """The current episode's diary with each walk's traffic light (the clinic's thresholds, NRS 0–10)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        _existing_patient(tx, patient_id)
        episode = current_episode(tx.episodes(patient_id))
        # A diary link always belongs to an episode; without one there is no current diary to show.
        entries = pr.by_walk_date(tx.diary_entries(patient_id, episode.id)) if episode and episode.id else []
    thresholds = settings.rules.diary_thresholds
    return PatientDiary(
        days=tuple(DiaryDay(e, pr.traffic_light(e, thresholds)) for e in entries),
        thresholds=thresholds,
        not_settling=pr.not_settling(entries, thresholds),
        last_comfortable_min=pr.last_comfortable_minutes(entries, thresholds),
    )
