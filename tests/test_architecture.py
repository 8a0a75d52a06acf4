"""The dependency rules of shared/architecture.md, checked on the source with `ast`.

| package   | must not import                                        |
|-----------|--------------------------------------------------------|
| dashboard | streamlit, sqlalchemy, fpdf, data, reports, pages      |
|           | (plotly only in the chart modules dashboard/charts.py, chart_style.py and outcome_charts.py, |
|           | argon2 only in dashboard/auth.py) |
| data      | streamlit, reports, pages, the service layer (dashboard.services, service_base, *_services) |
|           | (data/users.py, the operator's account command line, aside) |
| reports   | streamlit, sqlalchemy, data, pages                     |
| pages/*, app.py | one another (a page never imports a page)        |

Imports anywhere in a file count (inside functions and `if TYPE_CHECKING:` too), and so do
`importlib.import_module("x")` / `__import__("x")` calls with a literal name.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("dashboard", "data", "reports", "pages")
FORBIDDEN: dict[str, frozenset[str]] = {
    "dashboard": frozenset({"streamlit", "sqlalchemy", "fpdf", "data", "reports", "pages", "app"}),
    "data": frozenset({"streamlit", "reports", "pages", "app"}),
    "reports": frozenset({"streamlit", "sqlalchemy", "data", "pages", "app"}),
    "pages": frozenset({"pages", "app"}),
}
# Third-party packages each allowed only in the named core modules.
ONLY_IN: dict[str, tuple[str, ...]] = {
    "plotly": ("dashboard/charts.py", "dashboard/chart_style.py", "dashboard/outcome_charts.py"),
    "argon2": ("dashboard/auth.py",),
    "segno": ("reports/invite_slip.py",),
}


def _python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if not {"__pycache__", ".venv"} & set(p.parts))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _files(*packages: str) -> list[str]:
    return [_rel(p) for package in packages for p in _python_files(package)]


APP_FILES = ["app.py"] if (ROOT / "app.py").exists() else []


def _package_of(rel: str) -> list[str]:
    """The package a module's relative imports start from (a.b.c for a/b/c/x.py)."""
    return rel.removesuffix(".py").split("/")[:-1]


def imports_in_source(source: str, rel: str) -> frozenset[str]:
    """Every absolute module name the source of `rel` imports (relative imports resolved)."""
    tree = ast.parse(source, filename=rel)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                package = _package_of(rel)
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base:
                found.add(base)
            # `from pkg import mod` may import a submodule: count pkg.mod too.
            found.update(f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.add(node.args[0].value)
    return frozenset(found)


@cache
def imported_modules(rel: str) -> frozenset[str]:
    """Every absolute module name the file imports."""
    return imports_in_source((ROOT / rel).read_text(encoding="utf-8"), rel)


def top_level_imports(rel: str) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(rel)}


def _assert_not_importing(rel: str, forbidden: frozenset[str] | set[str], rule: str) -> None:
    bad = sorted(name for name in imported_modules(rel) if name.split(".")[0] in forbidden)
    assert not bad, f"{rel} imports {', '.join(bad)}: {rule} (shared/architecture.md)"


def test_the_checks_see_the_core_modules() -> None:
    """Guard against a walker that silently finds nothing and lets every rule pass."""
    assert "dashboard/models.py" in _files("dashboard")
    assert "pydantic" in top_level_imports("dashboard/models.py")


def test_every_kind_of_import_is_seen_and_relative_imports_are_resolved() -> None:
    source = """
import streamlit as st
import plotly.express
from sqlalchemy.orm import Session
from . import models
from .charts import figure
from .. import data
from ..reports.handout import render
import importlib
importlib.import_module("fpdf")
__import__("argon2")

def later():
    import pages.visit
"""
    found = imports_in_source(source, "dashboard/services.py")
    assert {"streamlit", "plotly.express", "sqlalchemy.orm", "dashboard.models", "dashboard.charts"} <= found
    assert {"data", "reports.handout", "fpdf", "argon2", "pages.visit"} <= found
    nested = imports_in_source("from ...dashboard import models", "data/migrations/versions/x.py")
    assert "data.dashboard.models" in nested


@pytest.mark.parametrize("rel", _files("dashboard"))
def test_the_dashboard_core_does_not_import_ui_storage_pdf_or_outer_packages(rel: str) -> None:
    _assert_not_importing(
        rel,
        FORBIDDEN["dashboard"],
        "dashboard must not import streamlit, sqlalchemy, fpdf, data, reports, pages",
    )


@pytest.mark.parametrize("rel", _files("dashboard", "data", "reports"))
@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_plotly_argon2_and_segno_are_each_imported_only_where_the_table_says(rel: str, library: str) -> None:
    if rel in ONLY_IN[library]:
        return
    _assert_not_importing(rel, {library}, f"{library} is imported only in {', '.join(ONLY_IN[library])}")


OUR_PACKAGES = frozenset({"dashboard", "data", "reports", "pages", "app", "tests"})


@pytest.mark.parametrize(
    "rel", [rel for rel in _files("dashboard") if rel.startswith("dashboard/catalogue/")]
)
def test_the_catalogue_is_the_ground_floor_and_imports_nothing_of_ours(rel: str) -> None:
    ours = sorted(
        name
        for name in imported_modules(rel)
        if name.split(".")[0] in OUR_PACKAGES and not name.startswith("dashboard.catalogue")
    )
    assert not ours, f"{rel} imports {', '.join(ours)}: the catalogue imports nothing of ours"


@pytest.mark.parametrize("rel", _files("data"))
def test_the_data_layer_does_not_import_streamlit_reports_or_pages(rel: str) -> None:
    _assert_not_importing(rel, FORBIDDEN["data"], "data must not import streamlit, reports, pages")


# The service layer sits above the store: permission checks happen in the callers (pages, services),
# never in data/. data/users.py is the exception: a command-line front end (like a page) that creates
# the first admin and unlocks accounts through the services' own rules.
SERVICE_CALLERS_IN_DATA = frozenset({"data/users.py"})


@pytest.mark.parametrize("rel", [rel for rel in _files("data") if rel not in SERVICE_CALLERS_IN_DATA])
def test_the_data_layer_never_imports_the_service_layer(rel: str) -> None:
    bad = sorted(name for name in imported_modules(rel) if is_service_module(name))
    assert not bad, f"{rel} imports {', '.join(bad)}: data must not import the service layer"


def is_service_module(name: str) -> bool:
    """dashboard.services, its base and every module of the layer (patient_services, ...)."""
    module = name.removeprefix("dashboard.").split(".")[0]
    return name.startswith("dashboard.") and (
        module in ("services", "service_base") or module.endswith("_services")
    )


def test_every_service_module_counts_as_the_service_layer() -> None:
    layer = {
        rel.removesuffix(".py").replace("/", ".")
        for rel in _files("dashboard")
        if "services" in rel or "service_" in rel
    }
    assert layer and all(is_service_module(name) for name in layer), layer
    assert not is_service_module("dashboard.models") and not is_service_module("dashboard.web_sessions")


def test_the_service_layer_rule_sees_every_way_of_importing_it() -> None:
    for source in (
        "from dashboard import services",
        "from dashboard.services import require",
        "import dashboard.services",
        "def later():\n    from dashboard.services import require",
    ):
        assert "dashboard.services" in imports_in_source(source, "data/x.py"), source


@pytest.mark.parametrize("rel", _files("reports"))
def test_reports_do_not_import_streamlit_sqlalchemy_data_or_pages(rel: str) -> None:
    _assert_not_importing(
        rel, FORBIDDEN["reports"], "reports must not import streamlit, sqlalchemy, data, pages"
    )


@pytest.mark.parametrize("rel", _files("pages") + APP_FILES)
def test_a_page_never_imports_another_page_or_the_router(rel: str) -> None:
    _assert_not_importing(rel, FORBIDDEN["pages"], "pages and app.py must not import one another")


@pytest.mark.parametrize("rel", _files("dashboard", "data", "pages") + APP_FILES)
def test_only_reports_import_fpdf(rel: str) -> None:
    _assert_not_importing(rel, {"fpdf"}, "reports/ is the only fpdf2 import")


def _documented_modules() -> list[str]:
    return [
        rel
        for rel in _files("dashboard", "data", "reports")
        if not rel.endswith("/__init__.py") and "/migrations/versions/" not in rel
    ]


@pytest.mark.parametrize("rel", _documented_modules())
def test_every_core_module_starts_with_a_docstring(rel: str) -> None:
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"), filename=rel)
    docstring = ast.get_docstring(tree)
    assert docstring and docstring.strip(), f"{rel} must start with a module docstring saying what it is for"
