"""The red-flag banner as the clinician reads it."""

from __future__ import annotations

import re

import pytest

from dashboard.presenters import screening_banner
from dashboard.red_flags import RULES, Rule, screen, to_screening
from tests.factories import make_patient, make_visit


def test_the_banner_names_each_evidence_tag_once() -> None:
    visit = make_visit(saddle_anaesthesia="new", bladder_dysfunction="new", bowel_dysfunction="new")
    banner = screening_banner(to_screening(screen(make_patient(), [visit]), "p1", "v1"))
    assert banner.lines
    for line in banner.lines:
        shown = line.replace("\\", "")  # the banner's Markdown escapes the brackets
        assert not re.search(r"\[[CSU]\]\s*\[[CSU]\]", shown), shown


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.rule_id)
def test_every_rules_source_carries_its_evidence_tags_inline(rule: Rule) -> None:
    # The banner prints the source alone, so each source must name its evidence grade itself.
    assert re.search(r"\[[CSU]\]", rule.source)
