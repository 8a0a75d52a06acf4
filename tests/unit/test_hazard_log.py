"""The hazard log covers every red-flag rule, and every test it cites as proof exists."""

import re
from pathlib import Path

import pytest

from dashboard.red_flags import RULES

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = (ROOT / "docs" / "hazard-log.md").read_text(encoding="utf-8")
ALL_TEST_NAMES = {
    name
    for path in (ROOT / "tests").rglob("test_*.py")
    for name in re.findall(r"^\s*def (test_\w+)", path.read_text(encoding="utf-8"), flags=re.M)
}


@pytest.mark.parametrize("rule_id", [rule.rule_id for rule in RULES])
def test_every_rule_has_a_hazard_log_entry(rule_id):
    assert f"| `{rule_id}` |" in HAZARD_LOG


@pytest.mark.parametrize("test_name", sorted(set(re.findall(r"`(test_\w+)`", HAZARD_LOG))))
def test_every_test_cited_as_proof_exists(test_name):
    assert test_name in ALL_TEST_NAMES
