"""The hazard log covers every red-flag rule with its own hazard and residual risk, and every test it
cites as proof exists (a boundary-table row cited as `test_...[row]` must be a row of that table)."""

import re
from pathlib import Path

import pytest

from dashboard.red_flags import RULES
from tests.unit.test_red_flags import RULE_TABLE

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = (ROOT / "docs" / "hazard-log.md").read_text(encoding="utf-8")
ALL_TEST_NAMES = {
    name
    for path in (ROOT / "tests").rglob("test_*.py")
    for name in re.findall(r"^\s*def (test_\w+)", path.read_text(encoding="utf-8"), flags=re.M)
}
BOUNDARY_TEST = "test_rule_fires_exactly_at_its_boundary"
BOUNDARY_ROWS = {param.id for param in RULE_TABLE}


def rule_rows() -> dict[str, list[str]]:
    """Rule id -> the cells of its H1 row (rule, tier, hazard, controls, proved by, residual)."""
    rows: dict[str, list[str]] = {}
    for line in HAZARD_LOG.splitlines():
        match = re.match(r"^\| `(RF_\w+)` \|", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
    return rows


@pytest.mark.parametrize("rule_id", [rule.rule_id for rule in RULES])
def test_every_rule_has_a_hazard_log_entry(rule_id):
    assert f"| `{rule_id}` |" in HAZARD_LOG
    assert len(rule_rows()[rule_id]) == 6, "rule, tier, hazard, controls, proved by, residual"


@pytest.mark.parametrize(("column", "name"), [(2, "hazard"), (3, "controls"), (5, "residual")])
def test_no_two_rules_share_the_same_hazard_controls_or_residual_text(column, name):
    seen: dict[str, str] = {}
    for rule_id, cells in rule_rows().items():
        text = cells[column]
        assert text not in seen, f"{rule_id} has the same {name} text as {seen.get(text)}"
        seen[text] = rule_id


@pytest.mark.parametrize("rule_id", [rule.rule_id for rule in RULES])
def test_every_rule_entry_cites_a_proving_test(rule_id):
    assert re.search(r"`test_\w+", rule_rows()[rule_id][4])


@pytest.mark.parametrize("test_name", sorted(set(re.findall(r"`(test_\w+)", HAZARD_LOG))))
def test_every_test_cited_as_proof_exists(test_name):
    assert test_name in ALL_TEST_NAMES


@pytest.mark.parametrize("row_id", sorted(set(re.findall(rf"`{BOUNDARY_TEST}\[(\w+)\]`", HAZARD_LOG))))
def test_every_boundary_row_cited_as_proof_exists(row_id):
    assert row_id in BOUNDARY_ROWS
