"""What the Admin page says about a re-screen job (dashboard.rescreen_jobs): progress, state and lines."""

from __future__ import annotations

import datetime as dt

from dashboard.rescreen_jobs import JobState, job_lines, progress_text, stale_line

NOW = dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.UTC)


def job(**changes: object) -> JobState:
    values: dict[str, object] = {
        "name": "rescreen",
        "owner": "job-1",
        "state": "running",
        "rule_set_version": "abc123def456",
        "total": 10_000,
        "done": 2_500,
        "requested_by": None,
        "started_at": NOW - dt.timedelta(seconds=4),
        "heartbeat_at": NOW - dt.timedelta(seconds=1),
        "expires_at": NOW + dt.timedelta(seconds=29),
        "finished_at": None,
        **changes,
    }
    return JobState(**values)  # type: ignore[arg-type]


def test_a_running_job_shows_patients_done_of_total() -> None:
    running = job()
    assert running.is_live(NOW) and running.fraction == 0.25
    assert progress_text(running, NOW) == "Re-screening: 2,500 of 10,000 patients re-screened"


def test_a_job_whose_heartbeat_expired_says_it_stopped_and_can_be_started_again() -> None:
    stopped = job(expires_at=NOW - dt.timedelta(seconds=1))
    assert not stopped.is_live(NOW)
    assert progress_text(stopped, NOW).startswith("Stopped (the worker stopped answering): 2,500 of 10,000")


def test_a_failed_job_names_the_error_type_and_a_finished_one_its_count() -> None:
    assert "Failed (OperationalError)" in progress_text(job(state="failed", message="OperationalError"), NOW)
    assert (
        progress_text(job(state="done", done=10_000), NOW)
        == "Finished: 10,000 of 10,000 patients re-screened"
    )


def test_a_job_with_nothing_to_do_is_complete() -> None:
    assert job(total=0, done=0).fraction == 1.0


def test_the_lines_give_start_heartbeat_and_rule_set() -> None:
    lines = job_lines(job(finished_at=NOW), NOW)
    assert lines == [
        "Rule set `abc123def456`",
        "Started 21:59:56 UTC (4 s ago)",
        "Last heartbeat 21:59:59 UTC (1 s ago)",
        "Finished 22:00:00 UTC (0 s ago)",
    ]


def test_the_stale_line_counts_patients_or_says_all_are_current() -> None:
    assert stale_line(0, "v1") == "Every patient's latest screening uses rule set `v1`."
    assert stale_line(1, "v1") == "1 patient's latest screening uses another rule set than `v1`."
    assert stale_line(1234, "v1") == "1,234 patients' latest screening uses another rule set than `v1`."
