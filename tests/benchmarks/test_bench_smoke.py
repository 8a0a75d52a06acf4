"""The benchmark harness runs end to end on a tiny clinic and reports in the expected shape.

Performance is measured by `make bench` (tests/benchmarks/run.py), never asserted here: these
tests only check that every measuring function runs once and that the results are well formed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks import run as bench

TINY = 20


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bench.Clinic]:
    """A 20-patient demo clinic built through the harness's own cache, in a temporary directory."""
    root = tmp_path_factory.mktemp("bench")
    with bench.sqlite_clinic(TINY, seed=5, workdir=root / "work", cache_dir=root / "cache") as c:
        yield c


@pytest.fixture(scope="module")
def results(clinic: bench.Clinic) -> list[bench.Result]:
    return bench.measure_clinic(clinic, bench.ONCE)


def test_the_cache_is_keyed_by_size_seed_generator_version_and_schema(
    clinic: bench.Clinic, tmp_path: Path
) -> None:
    from data.demo import DEMO_VERSION
    from data.migrate import head_revision

    key = bench.cache_key(TINY, 5)
    assert f"{TINY}p" in key and "seed5" in key
    assert f"demo{DEMO_VERSION}" in key and str(head_revision()) in key
    assert clinic.backend == "sqlite" and clinic.size == TINY
    assert clinic.url != clinic.scratch_url


def test_every_in_process_measure_reports_once(results: list[bench.Result]) -> None:
    names = [r.measure for r in results]
    pages = ("caseload", "progress", "visit", "patients", "sidebar", "outcomes")
    handouts = ("handout", "handout_ar", "handout_bn", "handout_ar_bilingual", "handout_bn_bilingual")
    for key in (*pages, "record_visit", "screening", "rescreen", *handouts, "fhir", "export", "import"):
        assert bench.MEASURES[key] in names
    assert len(names) == len(set(names))


def test_results_are_well_formed(results: list[bench.Result]) -> None:
    for r in results:
        assert r.backend == "sqlite" and r.size == TINY
        assert len(r.samples) == 1 and len(r.cpu_samples) == 1
        assert all(math.isfinite(x) and x >= 0 for x in r.samples + r.floor_samples)
        assert r.median is not None and r.p90 is not None
        if r.floor_samples:
            assert r.ratio is not None and r.ratio > 0 and r.floor_what
        # Targets are judged at 10,000 patients only.
        assert r.passed is None


@pytest.mark.parametrize(
    ("module", "name", "measure"),
    [
        ("dashboard.fhir", "patient_bundle", "fhir"),
        ("data.transfer", "export_clinic", "export"),
        ("data.transfer", "import_clinic", "import"),
    ],
)
def test_a_measure_that_fails_stops_the_run_loudly(
    clinic: bench.Clinic, monkeypatch: pytest.MonkeyPatch, module: str, name: str, measure: str
) -> None:
    import importlib

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{name} is broken")

    monkeypatch.setattr(importlib.import_module(module), name, broken)
    with pytest.raises(RuntimeError, match=f"{name} is broken"):
        if measure == "fhir":
            from data.store import open_store

            store = open_store(clinic.url)
            try:
                with store.read() as tx:
                    user = tx.get_user_by_username(bench.DEMO_USERNAME)
                bench.measure_fhir(clinic, store, user, bench.typical_patients(store)[0], bench.ONCE)
            finally:
                store.close()
        else:
            bench.measure_transfer(clinic, bench.ONCE)


def test_a_result_is_judged_against_its_target_at_ten_thousand_patients() -> None:
    caseload = bench.Result(bench.MEASURES["caseload"], "sqlite", bench.TARGET_SIZE, samples=[250, 280, 900])
    assert caseload.median == 280 and caseload.passed is True
    assert caseload.p90 == pytest.approx(776)
    handout = bench.Result(
        bench.MEASURES["handout"], "sqlite", bench.TARGET_SIZE, samples=[200], floor_samples=[100]
    )
    assert handout.ratio == 2 and handout.passed is False  # fast enough, but twice its floor
    other = bench.Result(bench.MEASURES["fhir"], "sqlite", bench.TARGET_SIZE, samples=[1])
    assert other.passed is None


def test_the_markdown_and_json_outputs(results: list[bench.Result], tmp_path: Path) -> None:
    big = bench.Result(bench.MEASURES["caseload"], "sqlite", 200 * TINY, samples=[results[0].median or 1.0])
    meta = {"started": "now", "machine": "test", "git": "x", "mode": "smoke", "load_before": "0"}
    text = bench.write_results([*results, big], meta, tmp_path)
    assert (tmp_path / "results.md").read_text() == text
    header = next(line for line in text.splitlines() if line.startswith("| measure"))
    for column in ("measure", "size", "median ms", "p90 ms", "floor ms", "ratio", "target", "pass/fail"):
        assert column in header
    assert "How time grows with clinic size" in text
    assert f"{TINY}→{200 * TINY:,}" in text
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["meta"]["mode"] == "smoke"
    row = data["results"][0]
    for key in (
        "measure",
        "backend",
        "size",
        "median",
        "p90",
        "floor",
        "ratio",
        "target",
        "passed",
        "samples",
    ):
        assert key in row


def test_the_handout_floor_has_the_requested_page_count() -> None:
    assert bench.pdf_pages(bench.handout_floor(3)) == 3


def test_the_command_line_defaults() -> None:
    args = bench.parse_args([])
    assert args.sizes is None and not args.quick and args.database_url_postgres is None
    args = bench.parse_args(["--quick", "--sizes", "20,40", "--database-url-postgres", "postgresql://x"])
    assert args.quick and args.sizes == "20,40"


def test_profiles_of_a_page_and_a_function_are_written(clinic: bench.Clinic, tmp_path: Path) -> None:
    measures = [bench.MEASURES["caseload"], bench.MEASURES["record_visit"]]
    written = bench.profile_clinic(clinic, measures, tmp_path, runs=1)
    assert set(written) == set(measures)
    # The page's own script frame, not a leaf under it: pyinstrument's text view drops frames
    # under 1 % of the run, and on a loaded machine the 20-patient caseload query falls below that.
    assert "pages/caseload.py" in written[bench.MEASURES["caseload"]].read_text()
    assert "record_visit" in written[bench.MEASURES["record_visit"]].read_text()


def test_each_caseload_case_runs_the_page_and_its_sql_once(clinic: bench.Clinic) -> None:
    from data.store import open_store

    store = open_store(clinic.url)
    with store.read() as tx:
        user = tx.get_user_by_username(bench.DEMO_USERNAME)
    runner = bench.PageRunner(clinic.url, user)
    try:
        results = [
            bench._measure_caseload_case(runner, store, clinic, case, bench.ONCE)
            for case in bench.CASELOAD_CASES
        ]
    finally:
        runner.close()
        store.close()
    assert [r.measure for r in results] == [
        f"caseload page (SQL paging), {case}" for case in bench.CASELOAD_CASES
    ]
    assert all(len(r.samples) == 1 and len(r.floor_samples) == 1 for r in results)
    assert results[2].note.startswith("page 1 of 1")  # page 100 of a 20-patient clinic is its last
    assert results[0].target is None  # the 400 ms target is stated at 100,000 patients
    assert bench.ScaleResult("m", "sqlite", 100000, samples=[390.0]).passed is True
