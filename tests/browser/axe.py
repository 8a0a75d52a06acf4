"""Run axe-core (Deque's accessibility engine, MPL-2.0) in a Playwright page.

axe-core is a devDependency in the repository's package.json (pinned, with package-lock.json);
`npm ci --no-audit --no-fund` puts it in node_modules/, which git ignores. When it is missing the
tests that need it fail under CI=true and are skipped otherwise (tests.conftest.missing_requirement).

    violations = run_axe(page)            # every WCAG 2.x A/AA rule and axe's best practices
    serious = at_least_serious(violations)
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, missing_requirement

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("critical", "serious")


def axe_path() -> Path:
    """Path of axe.min.js; fails under CI=true and skips otherwise when it is not installed."""
    if not AXE_JS.is_file():
        missing_requirement(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm ci --no-audit --no-fund`")
    return AXE_JS


def axe_version() -> str:
    """The installed axe-core version (from its package.json)."""
    return str(json.loads((AXE_JS.parent / "package.json").read_text())["version"])


def run_axe(page: Any, context: str = "document") -> list[dict[str, Any]]:
    """Inject axe-core into `page` (once per document) and return its violations.

    `context` is a JavaScript expression naming what to check (default: the whole document).
    Each violation is axe's own object: id, impact, help, helpUrl, nodes[{target, html, ...}].
    """
    path = axe_path()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(path))
    result = page.evaluate(
        f"async () => (await axe.run({context}, {{resultTypes: ['violations']}})).violations"
    )
    return list(result)


@dataclass(frozen=True)
class Allowed:
    """One accepted violation: an axe rule id and a glob over a node's target selector.

    Every entry must cite docs/accessibility.md (`ref`), which says why the markup is Streamlit's.
    """

    rule: str
    target: str
    ref: str

    def matches(self, rule: str, target: str) -> bool:
        return rule == self.rule and fnmatch.fnmatchcase(target, self.target)


def target_text(node: dict[str, Any]) -> str:
    """axe's target (a list of selectors, nested for shadow DOM / frames) as one string."""
    return " >> ".join(
        " ".join(part) if isinstance(part, list) else str(part) for part in node.get("target", [])
    )


def at_least_serious(
    violations: Iterable[dict[str, Any]], allowed: Iterable[Allowed] = ()
) -> list[tuple[str, str, str, str]]:
    """(rule id, impact, target, html) of every critical/serious node not on the allow-list."""
    allowed = list(allowed)
    found = []
    for violation in violations:
        if violation.get("impact") not in SERIOUS:
            continue
        for node in violation.get("nodes", []):
            impact = node.get("impact") or violation["impact"]
            if impact not in SERIOUS:
                continue
            target = target_text(node)
            if any(entry.matches(violation["id"], target) for entry in allowed):
                continue
            found.append((violation["id"], impact, target, str(node.get("html", ""))[:200]))
    return found


def used_allowances(violations: Iterable[dict[str, Any]], allowed: Iterable[Allowed]) -> set[Allowed]:
    """The allow-list entries that matched at least one node (to spot stale entries)."""
    used = set()
    allowed = list(allowed)
    for violation in violations:
        for node in violation.get("nodes", []):
            target = target_text(node)
            used.update(entry for entry in allowed if entry.matches(violation["id"], target))
    return used
