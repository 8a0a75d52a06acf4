"""Run axe-core (Deque's accessibility engine, MPL-2.0) in a Playwright page.

axe-core is a devDependency in the repository's package.json (pinned, with package-lock.json);
`npm ci --no-audit --no-fund` puts it in node_modules/, which git ignores. When it is missing the
tests that need it fail under CI=true and are skipped otherwise (tests.conftest.missing_requirement).

    violations = run_axe(page)            # every rule axe runs by default (WCAG 2.x A/AA, best practices)
    problems, used = serious_violations(page, violations, ALLOWED)
"""

from __future__ import annotations

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
    """One accepted violation: an axe rule id, and a CSS selector the offending element must match.

    `ref` names the section of docs/accessibility.md that says why the markup is Streamlit's.
    """

    rule: str
    selector: str
    ref: str


# True when the element axe names (by its CSS target) matches the selector.
_MATCHES_JS = """([target, selector]) => {
  const el = document.querySelector(target);
  return !!el && el.matches(selector);
}"""


def target_text(node: dict[str, Any]) -> str:
    """axe's target (a list of selectors, nested for shadow DOM / frames) as one string."""
    return " >> ".join(
        " ".join(part) if isinstance(part, list) else str(part) for part in node.get("target", [])
    )


def _allowed_by(page: Any, rule: str, node: dict[str, Any], allowed: list[Allowed]) -> Allowed | None:
    target = node.get("target", [])
    if len(target) != 1 or not isinstance(target[0], str):
        return None  # inside a frame or a shadow root: never on the allow-list
    for entry in allowed:
        if entry.rule == rule and page.evaluate(_MATCHES_JS, [target[0], entry.selector]):
            return entry
    return None


def serious_violations(
    page: Any, violations: Iterable[dict[str, Any]], allowed: Iterable[Allowed] = ()
) -> tuple[list[tuple[str, str, str, str]], set[Allowed]]:
    """Critical/serious nodes not on the allow-list, as (rule, impact, target, html); and the entries used.

    Call it right after run_axe, while the page still shows what axe saw.
    """
    allowed = list(allowed)
    found, used = [], set()
    for violation in violations:
        for node in violation.get("nodes", []):
            impact = node.get("impact") or violation.get("impact")
            if impact not in SERIOUS:
                continue
            entry = _allowed_by(page, violation["id"], node, allowed)
            if entry is not None:
                used.add(entry)
                continue
            found.append((violation["id"], str(impact), target_text(node), str(node.get("html", ""))[:200]))
    return found, used
