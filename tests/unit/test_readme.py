"""The README's rule table is generated from the rule table and must not drift from it."""

import re
import runpy
from pathlib import Path

from dashboard.red_flags import RULES, rule_set_version, rules_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_rules_block() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", text, flags=re.S)
    assert match, "README.md lost its rules:start / rules:end markers"
    return match.group(1)


def test_the_readme_rule_table_matches_the_rule_table_in_the_code():
    assert _readme_rules_block() == rules_markdown()


def test_the_regenerate_command_prints_the_rule_table(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["python -m dashboard.red_flags", "--markdown"])
    runpy.run_module("dashboard.red_flags", run_name="__main__")
    assert capsys.readouterr().out == rules_markdown()


def test_the_command_without_markdown_prints_the_rule_set_version(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["python -m dashboard.red_flags"])
    runpy.run_module("dashboard.red_flags", run_name="__main__")
    assert capsys.readouterr().out == rule_set_version() + "\n"


def test_every_rule_id_appears_in_the_readme():
    block = _readme_rules_block()
    for rule in RULES:
        assert f"`{rule.rule_id}`" in block


def test_the_readme_keeps_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text
